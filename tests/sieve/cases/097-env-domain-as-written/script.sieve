require ["envelope", "fileinto"];
if envelope :domain :is :comparator "i;octet" "from" "Example.ORG" { fileinto "written"; }
