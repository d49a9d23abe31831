require ["spamtest", "fileinto"];
if spamtest "0" { fileinto "not-tested"; }
