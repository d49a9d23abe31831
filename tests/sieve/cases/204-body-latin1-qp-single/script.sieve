require ["body", "fileinto"];
if body :text :is text:
Schöne Grüße aus Köln.
.
{ fileinto "exact"; }
