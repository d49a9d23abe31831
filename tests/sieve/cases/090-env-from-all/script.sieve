require ["envelope", "fileinto"];
if envelope :all :is "from" "sender@example.net" { fileinto "from"; }
