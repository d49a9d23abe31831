require ["date", "relational", "fileinto"];
if date :count "eq" "received" "date" "1" { fileinto "one"; }
