require "variables";
set "a-b" "x";
