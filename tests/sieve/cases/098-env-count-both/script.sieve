require ["envelope", "fileinto", "relational"];
if envelope :count "eq" ["from", "to"] "2" { fileinto "two"; }
