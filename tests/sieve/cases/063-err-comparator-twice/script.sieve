if header :comparator "i;octet" :comparator "i;octet" "subject" "x" { keep; }
