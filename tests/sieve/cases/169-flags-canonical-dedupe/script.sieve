require ["imap4flags", "fileinto"];
addflag ["\\seen", "\\SEEN", "Junk", "junk"];
fileinto "A";
