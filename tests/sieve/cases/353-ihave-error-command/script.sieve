require "ihave";
keep;
error "custom failure";
