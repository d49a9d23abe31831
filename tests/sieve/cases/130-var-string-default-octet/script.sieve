require ["variables", "fileinto"];
set "v" "Alpha";
if string :is "${v}" "alpha" { fileinto "wrong"; } elsif string :is "${v}" "Alpha" { fileinto "octet"; }
