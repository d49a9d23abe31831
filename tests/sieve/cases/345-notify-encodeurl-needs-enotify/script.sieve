require "variables";
set :encodeurl "x" "y";
