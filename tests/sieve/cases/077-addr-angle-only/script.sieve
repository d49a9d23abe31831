require "fileinto";
if address :domain :is "cc" "sub.example.org" { fileinto "angle"; }
