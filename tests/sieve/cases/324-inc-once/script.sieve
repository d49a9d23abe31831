require ["include", "variables", "fileinto"];
global "n";
include :once "counter";
include :once "counter";
fileinto "n=${n}";
