require ["date", "fileinto", "variables"];
if allof (date :originalzone :is "date" "weekday" "6", date :zone "+0000" :is "date" "weekday" "0") { fileinto "sat-sun"; }
