require ["body", "fileinto"];
if body :contains "numbers are UP" { fileinto "plain"; }
