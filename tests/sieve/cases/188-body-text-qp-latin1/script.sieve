require ["body", "fileinto"];
if body :text :contains "Grüße, the figures for Q1 are in the spreadsheet" { fileinto "qp"; }
