require ["foreverypart", "mime", "variables", "fileinto"];
foreverypart { if header :mime :param "filename" :matches "content-disposition" "*.xls" { fileinto "sheet-${1}"; } }
