require ["index", "relational", "fileinto"];
if header :index 1 :count "eq" ["x-a", "x-b"] "1" { fileinto "one"; }
