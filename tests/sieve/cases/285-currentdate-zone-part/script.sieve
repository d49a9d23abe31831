require ["date", "fileinto", "variables"];
if currentdate :zone "-0330" :matches "zone" "*" { fileinto "${1}"; }
