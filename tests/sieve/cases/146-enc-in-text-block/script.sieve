require ["encoded-character", "reject"];
reject text:
${hex:48 69}
.
;
