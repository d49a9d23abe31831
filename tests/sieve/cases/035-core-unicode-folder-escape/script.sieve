require "fileinto";
fileinto "Tab\there";
