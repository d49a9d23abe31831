require "include";
include "script";
