require ["variables", "fileinto", "relational"];
if string :value "gt" "abc" "Hello" { fileinto "lower-case-sorts-after"; }
