require ["encoded-character", "fileinto"];
fileinto "${unicode:48}${unicode: 0065 006C 6c 6F }${unicode:1F600}";
