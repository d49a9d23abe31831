require ["variables", "fileinto"];
fileinto "[${1}${9}]";
