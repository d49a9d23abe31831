require ["variables", "fileinto"];
set :lower :upperfirst "a" "hELLO wORLD";
fileinto "${a}";
