require ["variables", "fileinto"];
set "a" "x";
fileinto "${a-b}${}${a";
