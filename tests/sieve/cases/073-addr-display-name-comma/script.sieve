require "fileinto";
if address :localpart :is "from" "john.smith" { fileinto "local"; }
