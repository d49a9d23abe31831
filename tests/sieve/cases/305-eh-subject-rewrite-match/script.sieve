require ["editheader", "variables", "fileinto"];
if header :matches "subject" "*" { deleteheader "subject"; addheader "Subject" "[ext] ${1}"; }
if header :matches "subject" "[ext]*" { fileinto "tagged${1}"; }
