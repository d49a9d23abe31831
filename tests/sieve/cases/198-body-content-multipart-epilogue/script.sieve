require ["body", "fileinto"];
if body :content "multipart/mixed" :contains "Epilogue text" { fileinto "epilogue"; }
