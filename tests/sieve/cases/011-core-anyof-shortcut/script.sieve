require "fileinto";
if anyof (false, header :is "subject" "Weekly status report") { fileinto "any"; }
