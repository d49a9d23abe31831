require "imap4flags";
addflag ["\\Recent", "\\Custom", "bad(flag", "Ümlaut", "ok", "$Label1"];
