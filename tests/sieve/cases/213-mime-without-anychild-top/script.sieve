require ["mime", "fileinto"];
if header :mime :contenttype "content-type" "application/vnd.ms-excel" { fileinto "wrong"; } else { fileinto "top-only"; }
