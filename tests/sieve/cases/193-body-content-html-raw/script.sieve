require ["body", "fileinto"];
if body :content "text/html" :contains "<b>Q1</b> &amp;" { fileinto "raw-html"; }
