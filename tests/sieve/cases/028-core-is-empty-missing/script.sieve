require "fileinto";
if header :is "x-missing" "" { fileinto "wrong"; } else { fileinto "absent-is-not-empty"; }
