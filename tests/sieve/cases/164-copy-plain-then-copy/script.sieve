require ["copy", "fileinto"];
fileinto "A";
fileinto :copy "A";
