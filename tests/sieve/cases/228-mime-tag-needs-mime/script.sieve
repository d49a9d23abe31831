require "mime";
if header :anychild "subject" "x" { keep; }
