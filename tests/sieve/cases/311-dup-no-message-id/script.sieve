require ["duplicate", "fileinto"];
if not duplicate { fileinto "no-id-no-dup"; }
