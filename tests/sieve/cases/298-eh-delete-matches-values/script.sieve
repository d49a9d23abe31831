require ["editheader", "relational", "fileinto", "variables"];
deleteheader :matches "x-a" ["1", "3"];
if header :matches "x-a" "*" { fileinto "left-${1}"; }
