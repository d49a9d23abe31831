require ["regex", "variables"];
set "re" "[z-a]";
if header :regex "subject" "${re}" { keep; }
