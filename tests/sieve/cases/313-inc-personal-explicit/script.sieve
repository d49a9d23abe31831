require "include";
include :personal "helper";
keep;
