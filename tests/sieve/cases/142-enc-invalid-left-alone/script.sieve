require ["encoded-character", "fileinto"];
fileinto "${hex:4g}${hex:}${hex:123}${unicode:}";
