require "fileinto";
if exists "from" { fileinto "wrong"; } elsif size :under 1 { fileinto "empty"; }
