require "enotify";
notify "mailto:not%20an%20address";
