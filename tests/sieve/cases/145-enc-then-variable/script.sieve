require ["encoded-character", "variables", "fileinto"];
set "a" "expanded";
fileinto "${hex:24}{a}";
