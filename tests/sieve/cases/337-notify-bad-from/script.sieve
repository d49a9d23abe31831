require "enotify";
notify :from "nobody" "mailto:carol@example.net";
