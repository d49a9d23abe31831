require ["enotify", "fileinto"];
if valid_notify_method ["mailto:a@example.net", "tel:+1-555-0100"] { fileinto "wrong"; } else { fileinto "invalid"; }
