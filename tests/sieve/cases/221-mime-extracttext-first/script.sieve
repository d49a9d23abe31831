require ["foreverypart", "extracttext", "mime", "variables", "fileinto"];
foreverypart { if header :mime :subtype "content-type" "html" { extracttext :first 13 "t"; fileinto "${t}"; } }
