require ["body", "fileinto", "variables"];
if body :matches "*Bob*" { fileinto "m[${1}]"; }
