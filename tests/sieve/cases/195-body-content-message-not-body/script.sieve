require ["body", "fileinto"];
if body :content "message/rfc822" :contains "budget note body" { fileinto "wrong"; } else { fileinto "header-only"; }
