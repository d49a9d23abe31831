require ["include", "variables"];
set "global.v" "G";
include "helper";
