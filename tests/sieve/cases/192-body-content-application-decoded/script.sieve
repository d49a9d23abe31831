require ["body", "fileinto"];
if body :content "application" :contains "spreadsheet bytes" { fileinto "decoded"; }
