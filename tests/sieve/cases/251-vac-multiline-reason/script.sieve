require "vacation";
vacation text:
I am away.
..dots stay single.
.
;
