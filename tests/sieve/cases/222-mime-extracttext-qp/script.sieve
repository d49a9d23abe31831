require ["foreverypart", "extracttext", "mime", "variables", "fileinto"];
foreverypart { if header :mime :contenttype "content-type" "text/plain" { extracttext :upper :first 6 "t"; fileinto "${t}"; } }
