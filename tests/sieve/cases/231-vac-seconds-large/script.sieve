require ["vacation", "vacation-seconds"];
vacation :seconds 200000 "Out";
