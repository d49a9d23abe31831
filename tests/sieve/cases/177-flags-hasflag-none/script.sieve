require ["imap4flags", "fileinto"];
if hasflag "\\Seen" { fileinto "wrong"; } else { fileinto "no-flags"; }
