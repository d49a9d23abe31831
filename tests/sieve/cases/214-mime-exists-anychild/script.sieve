require ["mime", "fileinto"];
if exists :mime :anychild "content-disposition" { fileinto "attachment"; }
