require "fileinto";
if header :is "subject" "Weekly status report" { fileinto "crlf-ok"; }
