require "vacation";
vacation :addresses "team@example.com" "Out";
