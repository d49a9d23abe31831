require ["date", "fileinto", "variables"];
if date :zone "+0530" :matches "date" "std11" "*" { fileinto "${1}"; }
