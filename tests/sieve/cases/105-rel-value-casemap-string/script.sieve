require ["fileinto", "relational"];
if header :value "gt" "x-count" "9" { fileinto "wrong"; } else { fileinto "string-order"; }
