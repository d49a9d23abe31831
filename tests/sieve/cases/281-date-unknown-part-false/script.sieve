require ["date", "fileinto"];
if date :matches "date" "fortnight" "*" { fileinto "wrong"; } else { fileinto "unknown-part"; }
