require ["imap4flags", "variables", "fileinto"];
setflag "f" "\\flagged";
addflag "f" "Work";
fileinto :flags "${f}" "W";
