require ["index", "fileinto"];
if header :index 1 :last :contains "received" "client" { fileinto "last-is-client"; }
