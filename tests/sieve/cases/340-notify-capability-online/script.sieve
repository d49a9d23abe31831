require ["enotify", "fileinto"];
if notify_method_capability "mailto:a@example.net" "Online" "maybe" { fileinto "maybe"; }
