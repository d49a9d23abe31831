require "ereject";
keep;
ereject "x";
