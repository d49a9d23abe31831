if address :user "to" "bob" { keep; }
