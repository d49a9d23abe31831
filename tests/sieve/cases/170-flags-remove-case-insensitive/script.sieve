require ["imap4flags", "fileinto"];
addflag "Junk \\Flagged";
removeflag "JUNK";
fileinto "A";
