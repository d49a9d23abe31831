require ["index", "fileinto"];
if header :index 3 :contains "received" "" { fileinto "wrong"; } else { fileinto "no-third"; }
