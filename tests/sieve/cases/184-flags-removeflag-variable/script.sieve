require ["imap4flags", "variables"];
set "f" "a b c";
removeflag "f" "b";
keep :flags "${f}";
