require ["index"];
if address :last "from" "x" { keep; }
