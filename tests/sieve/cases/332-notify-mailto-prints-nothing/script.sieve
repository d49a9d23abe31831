require "enotify";
notify :importance "1" :message "New mail" "mailto:carol@example.net?subject=Hi";
