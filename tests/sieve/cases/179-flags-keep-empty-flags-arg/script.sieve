require "imap4flags";
addflag "x";
keep :flags "";
