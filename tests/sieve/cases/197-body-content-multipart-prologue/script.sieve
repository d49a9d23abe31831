require ["body", "fileinto"];
if body :content "multipart" :contains "Preamble text" { fileinto "prologue"; }
