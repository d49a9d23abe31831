require "ereject";
ereject "Go away";
