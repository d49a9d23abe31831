require "fileinto";
if header :is "subject" "only" { fileinto "header-only"; }
