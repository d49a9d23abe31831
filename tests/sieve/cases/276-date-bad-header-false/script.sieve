require ["date", "fileinto"];
if date :matches "x-bad" "year" "*" { fileinto "wrong"; } else { fileinto "unparsable"; }
