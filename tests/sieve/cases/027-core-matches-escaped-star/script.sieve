require "fileinto";
if header :matches "subject" "Weekly\\*" { fileinto "literal-star"; } else { fileinto "no"; }
