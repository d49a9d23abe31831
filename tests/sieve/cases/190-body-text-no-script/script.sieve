require ["body", "fileinto"];
if body :text :contains "alert" { fileinto "wrong"; } else { fileinto "script-dropped"; }
