require ["date", "fileinto", "variables"];
if date :zone "+0000" :matches "date" "julian" "*" { fileinto "${1}"; }
