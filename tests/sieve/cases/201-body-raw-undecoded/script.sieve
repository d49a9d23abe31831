require ["body", "fileinto"];
if body :raw :contains "c3ByZWFkc2hlZXQgYnl0ZXM=" { fileinto "raw"; }
