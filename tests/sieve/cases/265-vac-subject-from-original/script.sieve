require ["vacation", "editheader"];
addheader "Subject" "Changed";
vacation "Out";
