require "fileinto";
if header :is "subject" "Grüße aus Berlin und Köln" { fileinto "decoded"; }
