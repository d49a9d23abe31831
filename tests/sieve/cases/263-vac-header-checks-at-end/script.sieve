require ["vacation", "editheader"];
vacation "Out";
deleteheader "to";
