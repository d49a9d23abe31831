require "vacation";
vacation :addresses "other@example.com" "Out";
