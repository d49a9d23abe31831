require "fileinto";
if header :is "subject" "kept" { fileinto "skipped-bad-line"; }
