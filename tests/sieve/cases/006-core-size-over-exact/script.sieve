require "fileinto";
if size :over 503 { fileinto "over"; } elsif size :under 503 { fileinto "under"; } else { fileinto "exact"; }
