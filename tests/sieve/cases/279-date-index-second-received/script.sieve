require ["date", "index", "fileinto", "variables"];
if date :index 2 :originalzone :matches "received" "date" "*" { fileinto "${1}"; }
