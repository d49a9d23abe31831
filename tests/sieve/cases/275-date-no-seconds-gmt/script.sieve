require ["date", "fileinto", "variables"];
if date :originalzone :matches "x-sent" "time" "*" { fileinto "${1}"; }
