require ["vacation", "reject"];
vacation "a";
reject "no";
