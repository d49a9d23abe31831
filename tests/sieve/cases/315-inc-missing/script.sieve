require "include";
include "not-there";
