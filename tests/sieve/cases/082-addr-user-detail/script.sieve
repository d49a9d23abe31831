require ["fileinto", "subaddress", "variables"];
if address :user :is "to" "dave" { if address :detail :matches "to" "w*" { fileinto "${1}"; } }
