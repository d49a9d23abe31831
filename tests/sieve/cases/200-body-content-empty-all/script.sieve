require ["body", "fileinto"];
if body :content "" :contains "Epilogue" { fileinto "all-types"; }
