require ["fileinto", "relational", "comparator-i;ascii-numeric"];
if header :count "ge" :comparator "i;ascii-numeric" ["received", "from", "x-none"] "3" { fileinto "three"; }
