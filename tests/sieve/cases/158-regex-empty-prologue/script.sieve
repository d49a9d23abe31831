require ["regex", "body", "fileinto"];
if body :content "multipart/alternative" :regex "^$" { fileinto "empty-prologue"; }
