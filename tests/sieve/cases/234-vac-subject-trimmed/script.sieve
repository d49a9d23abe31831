require "vacation";
vacation :subject "  Away until May  " "Out";
