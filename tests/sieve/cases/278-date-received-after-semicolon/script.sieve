require ["date", "fileinto", "variables"];
if date :originalzone :matches "received" "time" "*" { fileinto "${1}"; }
