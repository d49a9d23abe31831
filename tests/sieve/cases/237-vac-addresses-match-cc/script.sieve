require "vacation";
vacation :addresses ["nobody@example.com", "team@example.com"] "Out";
