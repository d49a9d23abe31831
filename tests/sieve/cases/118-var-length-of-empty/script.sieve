require ["variables", "fileinto"];
set :length "n" "";
fileinto "n${n}";
