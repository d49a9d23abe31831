require ["fileinto", "variables"];
if address :localpart :matches "to" "quoted*" { fileinto "${0}"; }
