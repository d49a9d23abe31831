require "fileinto";
if address :is "to" "carol@example.net" { fileinto "group"; }
