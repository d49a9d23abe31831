require "ihave";
if ihave "x-frobnicate" { frobnicate "now"; } else { discard; }
