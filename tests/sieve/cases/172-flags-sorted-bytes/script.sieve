require "imap4flags";
addflag "zeta \\Answered Alpha $Hash \\Draft";
