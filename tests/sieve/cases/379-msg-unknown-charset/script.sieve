require ["body", "fileinto"];
if body :text :contains "plain words" { fileinto "raw-kept"; }
