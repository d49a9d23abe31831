require ["date", "relational", "fileinto"];
if date :originalzone :value "le" "date" "date" "2022-12-31" { fileinto "not-after"; }
