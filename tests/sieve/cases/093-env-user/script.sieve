require ["envelope", "fileinto", "subaddress"];
if envelope :user :is "to" "bob" { fileinto "bob"; }
