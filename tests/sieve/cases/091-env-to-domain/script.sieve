require ["envelope", "fileinto"];
if envelope :domain :is "to" "example.com" { fileinto "ours"; }
