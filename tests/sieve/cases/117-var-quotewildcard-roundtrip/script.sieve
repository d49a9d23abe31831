require ["variables", "fileinto"];
set :quotewildcard "p" "Weekly*";
if header :matches "subject" "${p}" { fileinto "wrong"; } else { fileinto "literal-star"; }
