require "imap4flags";
setflag "f" "a";
