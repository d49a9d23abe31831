require ["fileinto", "subaddress"];
if address :detail "to" "lists" { fileinto "lists"; }
