require "fileinto";
fileinto "A";
stop;
