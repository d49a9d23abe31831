require "editheader";
deleteheader "x:y";
