require ["include", "variables", "fileinto"];
global "n";
include "counter";
include "counter";
fileinto "n=${n}";
