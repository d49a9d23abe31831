require ["include", "variables"];
set "x" "main";
include "helper";
