require ["fileinto", "index", "variables"];
if address :index 2 :matches "from" "*" { fileinto "${1}"; } else { fileinto "one-from"; }
