require "duplicate";
if duplicate :header "subject" :uniqueid "x" { keep; }
