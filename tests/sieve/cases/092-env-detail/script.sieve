require ["envelope", "fileinto", "subaddress", "variables"];
if envelope :detail :matches "to" "*" { fileinto "tag-${1}"; }
