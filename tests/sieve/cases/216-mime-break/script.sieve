require ["foreverypart", "mime", "variables", "fileinto"];
set "n" "";
foreverypart { set "n" "${n}x"; if header :mime :type "content-type" "text" { break; } }
fileinto "${n}";
