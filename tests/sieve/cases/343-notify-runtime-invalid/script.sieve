require ["enotify", "variables"];
set "m" "mailto:a,b";
notify "${m}";
