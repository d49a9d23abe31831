require ["imap4flags", "fileinto"];
keep :flags "z";
fileinto :flags "q" "INBOX";
