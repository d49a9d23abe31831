require ["mime", "fileinto"];
if header :mime :anychild :contenttype "content-type" "application/vnd.ms-excel" { fileinto "has-excel"; }
