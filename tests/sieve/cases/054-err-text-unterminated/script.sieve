require "reject";
reject text:
no end
