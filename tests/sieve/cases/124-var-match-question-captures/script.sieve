require ["variables", "fileinto"];
if header :matches "x-count" "?*" { fileinto "${1}-${2}"; }
