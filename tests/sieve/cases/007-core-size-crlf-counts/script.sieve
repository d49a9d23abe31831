require "fileinto";
if size :over 503 { fileinto "bigger-with-crlf"; }
