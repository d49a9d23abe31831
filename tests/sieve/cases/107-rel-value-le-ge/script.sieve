require ["fileinto", "relational", "comparator-i;ascii-numeric"];
if allof (header :value "le" :comparator "i;ascii-numeric" "x-count" "17", header :value "ge" :comparator "i;ascii-numeric" "x-count" "17") { fileinto "17"; }
