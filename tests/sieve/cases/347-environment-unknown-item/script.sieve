require ["environment", "fileinto"];
if environment :matches "vnd.example.nothing" "*" { fileinto "wrong"; } else { fileinto "unknown"; }
