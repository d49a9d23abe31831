require ["body", "fileinto"];
if allof (body :text :contains "Figures for Q1", body :text :contains "& Q2") { fileinto "html-text"; }
