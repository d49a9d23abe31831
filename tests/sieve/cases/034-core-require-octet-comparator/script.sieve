require ["fileinto", "comparator-i;octet", "comparator-i;ascii-casemap"];
if header :contains :comparator "i;ascii-casemap" "subject" "WEEKLY" { fileinto "casemap"; }
