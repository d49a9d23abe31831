require "fileinto";
if header :matches "x-count" "1?" { fileinto "two-digits"; }
