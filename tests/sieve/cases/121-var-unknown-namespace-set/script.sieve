require "variables";
set "ns.a" "x";
