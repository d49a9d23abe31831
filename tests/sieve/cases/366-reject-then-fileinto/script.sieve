require ["reject", "fileinto"];
reject "no";
fileinto "X";
