require "fileinto";
if true { if true { fileinto "in"; stop; } fileinto "never"; }
fileinto "never2";
