require "fileinto";
if header :is :comparator "i;octet" "subject" "weekly status report" { fileinto "wrong"; } else { fileinto "octet-sensitive"; }
