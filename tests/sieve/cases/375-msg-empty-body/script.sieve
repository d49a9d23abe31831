require ["body", "fileinto"];
if allof (header :is "subject" "only", body :is "") { fileinto "empty-body"; }
