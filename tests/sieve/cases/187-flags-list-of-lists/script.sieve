require ["imap4flags", "fileinto"];
setflag ["a b", "c"];
removeflag ["b", "c"];
fileinto "F";
