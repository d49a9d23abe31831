if header :count "eq" "received" "2" { keep; }
