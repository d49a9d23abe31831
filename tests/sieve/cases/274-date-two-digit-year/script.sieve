require ["date", "fileinto", "variables"];
if date :originalzone :matches "x-sent" "date" "*" { fileinto "${1}"; }
