require "fileinto";
if address :localpart :is "resent-from" "archive" { fileinto "resent"; }
