require ["date", "fileinto"];
if date :matches "x-none" "year" "*" { fileinto "wrong"; } else { fileinto "missing"; }
