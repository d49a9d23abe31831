require ["index", "fileinto", "variables"];
if header :index 2 :matches ["x-b", "x-a"] "*" { fileinto "${1}"; }
if header :index 3 :matches ["x-b", "x-a"] "*" { fileinto "third-${1}"; }
if header :index 1 :last :matches ["x-b", "x-a"] "*" { fileinto "last-${1}"; }
