require ["editheader", "index", "relational", "fileinto"];
deleteheader :index 1 :last "x-a";
if allof (header :count "eq" "x-a" "2", header :index 1 :last :is "x-a" "2") { fileinto "third-gone"; }
