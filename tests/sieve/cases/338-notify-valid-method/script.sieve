require ["enotify", "fileinto"];
if valid_notify_method ["mailto:a@example.net", "mailto:b@example.net?subject=x&body=y", "mailto:?to=c@example.net"] { fileinto "valid"; }
