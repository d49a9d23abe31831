require ["envelope", "fileinto"];
if envelope :localpart :is "FROM" "alice" { fileinto "upper-part"; }
