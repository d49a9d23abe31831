require "include";
include "left";
include "right";
