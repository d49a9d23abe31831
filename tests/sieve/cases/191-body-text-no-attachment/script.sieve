require ["body", "fileinto"];
if body :text :contains "spreadsheet bytes" { fileinto "wrong"; } else { fileinto "not-text"; }
