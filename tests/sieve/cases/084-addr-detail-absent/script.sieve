require ["fileinto", "subaddress"];
if address :detail :matches "from" "*" { fileinto "wrong"; } else { fileinto "no-separator"; }
