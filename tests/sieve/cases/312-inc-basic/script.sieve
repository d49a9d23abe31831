require "include";
include "helper";
