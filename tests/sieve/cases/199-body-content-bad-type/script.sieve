require ["body", "fileinto"];
if body :content ["text/", "/plain", "text/plain/x"] :contains "Q1" { fileinto "wrong"; } else { fileinto "no-match"; }
