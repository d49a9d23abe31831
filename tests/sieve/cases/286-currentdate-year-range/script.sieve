require ["date", "relational", "fileinto", "comparator-i;ascii-numeric"];
if allof (currentdate :value "ge" :comparator "i;ascii-numeric" "year" "2024", currentdate :value "lt" :comparator "i;ascii-numeric" "year" "3000") { fileinto "plausible"; }
