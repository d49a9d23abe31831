require ["variables", "fileinto"];
set :length "n" "Größe";
fileinto "${n}";
