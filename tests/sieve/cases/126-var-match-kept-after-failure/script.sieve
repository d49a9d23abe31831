require ["variables", "fileinto"];
if header :matches "subject" "Weekly*" { if header :matches "from" "nomatch*" { } }
fileinto "[${1}]";
