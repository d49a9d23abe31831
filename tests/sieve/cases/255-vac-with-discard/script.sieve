require "vacation";
vacation "Out";
discard;
