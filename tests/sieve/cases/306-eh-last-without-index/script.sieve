require ["editheader", "fileinto"];
deleteheader :last "x-a";
if not exists "x-a" { fileinto "all-gone"; }
