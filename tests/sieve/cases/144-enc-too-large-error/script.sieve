require ["encoded-character", "fileinto"];
fileinto "${unicode:110000}";
