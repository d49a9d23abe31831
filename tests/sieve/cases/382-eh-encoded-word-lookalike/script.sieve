require ["editheader", "fileinto", "index"];
addheader "X-Look" "=?utf-8?q?abc?= stays as written";
if header :is "X-Look" "=?utf-8?q?abc?= stays as written" { fileinto "literal"; }
if header :contains "X-Look" "abc stays" { fileinto "decoded"; }
addheader :last "Subject" "Größe";
if header :index 2 :is "Subject" "Größe" { fileinto "second subject"; }
