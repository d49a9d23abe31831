require ["fileinto", "relational", "comparator-i;ascii-numeric"];
if header :value "lt" :comparator "i;ascii-numeric" "x-count" "100" { fileinto "lt100"; }
