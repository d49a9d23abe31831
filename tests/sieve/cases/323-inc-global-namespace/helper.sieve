require ["include", "variables", "fileinto"];
fileinto "${global.v}";
