require "fileinto";
if allof (exists "subject", not exists "x-missing") { fileinto "both"; }
