require ["envelope", "fileinto", "subaddress"];
if envelope :detail :is "to" "" { fileinto "empty-detail"; }
