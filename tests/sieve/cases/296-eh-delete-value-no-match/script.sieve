require ["editheader", "fileinto"];
deleteheader :is "cc" "someone@else";
if exists "cc" { fileinto "cc-kept"; }
