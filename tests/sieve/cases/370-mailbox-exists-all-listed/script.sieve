require ["mailbox", "fileinto"];
if mailboxexists ["INBOX", "Nope"] { fileinto "wrong"; } else { fileinto "not-all"; }
