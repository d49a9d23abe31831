require ["body", "fileinto"];
if body :content "message/rfc822" :contains "Forwarded budget note" { fileinto "inner-header"; }
