require ["include", "fileinto"];
include "helper";
fileinto "C";
