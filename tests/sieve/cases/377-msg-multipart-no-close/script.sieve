require ["body", "fileinto"];
if body :content "text/plain" :contains "unterminated part" { fileinto "lenient"; }
