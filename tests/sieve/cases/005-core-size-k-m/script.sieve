require "fileinto";
if size :under 1K { fileinto "tiny"; } elsif size :under 1M { fileinto "small"; }
