require ["foreverypart", "variables", "fileinto"];
set "n" "";
foreverypart { set "n" "${n}p"; }
fileinto "${n}";
