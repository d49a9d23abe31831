require ["fileinto", "relational"];
if header :count "lt" "received" "10" { fileinto "wrong"; } else { fileinto "2-gt-10-as-strings"; }
