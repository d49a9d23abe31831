require ["editheader", "index", "fileinto"];
addheader :last "X-Tag" "one";
addheader "X-Tag" "zero";
if allof (header :index 1 :is "x-tag" "zero", header :index 1 :last :is "x-tag" "one") { fileinto "ordered"; }
