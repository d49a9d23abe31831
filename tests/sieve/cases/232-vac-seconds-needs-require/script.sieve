require "vacation";
vacation :seconds 10 "Out";
