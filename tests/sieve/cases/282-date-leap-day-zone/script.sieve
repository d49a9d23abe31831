require ["date", "fileinto", "variables"];
if date :zone "+0000" :matches "resent-date" "*" "*" { fileinto "x"; }
if date :zone "+0000" :matches "resent-date" "date" "*" { fileinto "${1}"; }
