require "fileinto";
if address :domain :is :comparator "i;octet" "from" "Example.COM" { fileinto "as-written"; }
