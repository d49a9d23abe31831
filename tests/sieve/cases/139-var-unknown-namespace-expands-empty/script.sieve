require ["variables", "fileinto"];
fileinto "a${ns.x}b";
