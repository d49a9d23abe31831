require "vacation";
vacation "Out";
