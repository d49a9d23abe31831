require "fileinto";
if allof (address :is "reply-to" "replies@example.com", address :domain :is "sender" "bounce.example.com") { fileinto "both"; }
