require ["variables", "fileinto"];
set "v" "Alpha";
if string :is :comparator "i;ascii-casemap" "${v}" "alpha" { fileinto "casemap"; }
