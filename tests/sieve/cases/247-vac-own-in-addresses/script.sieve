require "vacation";
vacation :addresses "carol.alias@example.net" "Out";
