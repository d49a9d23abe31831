require ["include", "variables"];
set "n" "helper";
include "${n}";
