require "fileinto";
if address :localpart :is "cc" "frank" { fileinto "wrong"; } else { fileinto "invalid-skipped"; }
