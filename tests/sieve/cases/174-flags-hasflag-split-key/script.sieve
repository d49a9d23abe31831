require ["imap4flags", "fileinto"];
addflag "a b";
if hasflag "x a" { fileinto "split"; }
