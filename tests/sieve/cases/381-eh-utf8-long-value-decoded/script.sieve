require ["editheader", "fileinto", "variables"];
addheader "X-Note" "Grüße aus Köln, ein sehr langer Wert mit Umlauten: äöü ÄÖÜ, der über achtundsiebzig Zeichen hinausgeht";
if header :contains "X-Note" "Köln" { fileinto "contains"; }
if header :matches "X-Note" "*Umlauten: * ÄÖÜ*" { fileinto "matched ${2}"; }
if header :is "X-Note" "Grüße aus Köln, ein sehr langer Wert mit Umlauten: äöü ÄÖÜ, der über achtundsiebzig Zeichen hinausgeht" { fileinto "is"; }
deleteheader :contains "X-Note" "über acht";
if not exists "X-Note" { fileinto "deleted"; }
