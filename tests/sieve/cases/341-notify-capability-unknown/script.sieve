require ["enotify", "fileinto"];
if notify_method_capability "mailto:a@example.net" "color" "*" { fileinto "wrong"; } else { fileinto "none"; }
