require "fileinto";
fileinto "H";
