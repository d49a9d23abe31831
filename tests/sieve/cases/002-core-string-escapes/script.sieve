require "fileinto";
fileinto "a\"q\\b\x";
