require "relational";
if header :value "GE" "x-count" "1" { keep; }
