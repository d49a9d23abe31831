require ["imap4flags", "fileinto"];
addflag "Important";
if hasflag :contains "port" { fileinto "contains"; }
