require "fileinto";
if false { fileinto "1"; } elsif true { fileinto "2"; } elsif true { fileinto "3"; } else { fileinto "4"; }
