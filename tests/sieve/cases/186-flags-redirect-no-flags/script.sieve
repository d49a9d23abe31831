require "imap4flags";
addflag "x";
redirect "carol@example.net";
