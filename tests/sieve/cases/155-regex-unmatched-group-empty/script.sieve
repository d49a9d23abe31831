require ["regex", "variables", "fileinto"];
if header :regex "subject" "^(Weekly)( x)?" { fileinto "[${1}][${2}]"; }
