require ["imap4flags", "fileinto", "variables"];
set "v" "x y";
if hasflag ["v", "w"] "Y" { fileinto "var-list"; }
