require "include";
include "shared";
