require ["body", "fileinto"];
if body :text :contains "budget note body" { fileinto "nested-text"; }
