require "include";
include :optional "not-there";
keep;
