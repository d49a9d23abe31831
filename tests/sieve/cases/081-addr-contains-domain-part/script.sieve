require "fileinto";
if address :domain :contains "to" "lists" { fileinto "wrong"; } else { fileinto "domains-only"; }
