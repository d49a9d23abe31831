require ["fileinto", "relational"];
if address :count "eq" "bcc" "0" { fileinto "zero"; }
