require ["foreverypart", "variables", "fileinto"];
set "n" "";
foreverypart { set "n" "${n}|"; foreverypart { set "n" "${n}c"; } }
fileinto "${n}";
