require ["fileinto", "relational"];
if header :value "ne" "subject" "weekly STATUS report" { fileinto "wrong"; } else { fileinto "equal-casemap"; }
