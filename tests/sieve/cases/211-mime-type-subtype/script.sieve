require ["foreverypart", "mime", "fileinto"];
foreverypart { if allof (header :mime :type "content-type" "text", header :mime :subtype "content-type" "html") { fileinto "html-part"; } }
