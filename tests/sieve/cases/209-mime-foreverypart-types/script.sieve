require ["foreverypart", "mime", "variables", "fileinto"];
set "t" "";
foreverypart { if header :mime :contenttype :matches "content-type" "*" { set "t" "${t}|${1}"; } }
fileinto "${t}";
