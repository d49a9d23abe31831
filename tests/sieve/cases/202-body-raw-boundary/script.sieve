require ["body", "fileinto"];
if body :raw :contains "--=_outer--" { fileinto "boundary"; }
