require ["enotify", "variables", "fileinto"];
set :encodeurl "x" "a b&c=d/é~";
fileinto "${x}";
