if header :foo "subject" "x" { keep; }
