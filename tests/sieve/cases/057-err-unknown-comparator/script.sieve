if header :is :comparator "i;unicode-casemap" "subject" "x" { keep; }
