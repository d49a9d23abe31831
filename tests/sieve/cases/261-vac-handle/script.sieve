require "vacation";
vacation :handle "h-1" :days 2 "Out";
