require ["foreverypart", "mime", "variables", "fileinto"];
foreverypart { if header :mime :param "filename" :matches "content-disposition" "*" { fileinto "${1}"; } }
