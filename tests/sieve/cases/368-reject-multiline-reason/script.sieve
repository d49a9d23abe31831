require "reject";
reject text:
Not here.
	Indented.
.
;
