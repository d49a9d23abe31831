require ["regex", "variables", "fileinto"];
if header :regex :comparator "i;octet" "subject" "^weekly" { fileinto "wrong"; } elsif header :regex :comparator "i;octet" "subject" "^Weekly" { fileinto "octet"; }
