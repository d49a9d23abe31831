require ["fileinto", "subaddress", "relational"];
if address :detail :count "eq" "sender" "1" { fileinto "counted"; }
