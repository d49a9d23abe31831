require "reject";
reject text:
..leading dot
second line
.
;
