require ["mime", "fileinto"];
if header :mime :anychild :type "content-disposition" "attachment" { fileinto "att"; }
