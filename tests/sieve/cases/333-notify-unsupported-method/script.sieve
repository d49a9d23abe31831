require "enotify";
notify "xmpp:carol@example.net";
