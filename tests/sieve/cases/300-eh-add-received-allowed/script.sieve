require ["editheader", "relational", "fileinto"];
addheader "Received" "from sieve by sieve; Tue, 5 Apr 2022 08:00:03 +0200";
if header :count "eq" "received" "3" { fileinto "three"; }
