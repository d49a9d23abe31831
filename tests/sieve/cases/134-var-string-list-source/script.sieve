require ["variables", "fileinto"];
if string :matches ["zzz", "key=value"] "*=*" { fileinto "${2}"; }
