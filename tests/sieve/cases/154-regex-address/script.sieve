require ["regex", "variables", "fileinto"];
if address :regex :localpart "from" "^(.*)$" { fileinto "${1}"; }
