require ["body", "fileinto"];
if body :text :contains "Hello" { fileinto "decoded-anyway"; }
