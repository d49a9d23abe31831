require ["variables", "fileinto", "comparator-i;ascii-numeric"];
if string :is :comparator "i;ascii-numeric" "" "abc" { fileinto "wrong"; } elsif string :is :comparator "i;ascii-numeric" "abc" "" { fileinto "empty-key-is-infinite"; }
