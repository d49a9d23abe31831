require "imap4flags";
setflag "a";
keep;
addflag "b";
