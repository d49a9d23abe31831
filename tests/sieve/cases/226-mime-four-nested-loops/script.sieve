require ["foreverypart", "variables", "fileinto"];
set "n" "";
foreverypart { foreverypart { foreverypart { foreverypart { set "n" "${n}x"; } } } }
fileinto "n${n}";
