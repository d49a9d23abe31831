require ["variables", "fileinto"];
if header :matches "subject" "Weekly *" { fileinto "${0}|${1}"; }
