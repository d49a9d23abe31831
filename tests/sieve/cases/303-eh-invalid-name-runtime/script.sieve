require ["editheader", "variables"];
set "n" "bad:name";
addheader "${n}" "x";
