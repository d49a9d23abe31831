require "variables";
set "user" "carol";
redirect "${user}@Example.NET";
