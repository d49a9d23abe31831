require ["editheader", "fileinto"];
deleteheader :contains "cc" "team";
if not exists "cc" { fileinto "cc-gone"; }
