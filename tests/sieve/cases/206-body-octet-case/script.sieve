require ["body", "fileinto"];
if body :comparator "i;octet" :contains "hello bob" { fileinto "wrong"; } else { fileinto "octet"; }
