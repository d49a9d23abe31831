require "regex";
if header :regex "subject" "((((a{1,100}){1,100}){1,100}){1,100})" { keep; }
