require ["editheader", "fileinto"];
addheader "X-Note" "Grüße";
if header :is :comparator "i;octet" "x-note" "grüße" { fileinto "wrong"; } elsif header :is "x-note" "Grüße" { fileinto "utf8"; }
