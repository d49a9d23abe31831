require ["imap4flags", "fileinto", "copy"];
setflag "a";
fileinto :copy "INBOX";
addflag "b";
