require "fileinto";
discard;
fileinto "Later";
