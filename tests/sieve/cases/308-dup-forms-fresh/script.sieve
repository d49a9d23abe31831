require ["duplicate", "fileinto"];
if anyof (duplicate, duplicate :handle "h" :header "subject" :seconds 60 :last, duplicate :uniqueid "id-1") { fileinto "dup"; } else { fileinto "fresh"; }
