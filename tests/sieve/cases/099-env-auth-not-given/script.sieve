require ["envelope", "fileinto"];
if envelope :matches "auth" "*" { fileinto "wrong"; } else { fileinto "no-auth"; }
