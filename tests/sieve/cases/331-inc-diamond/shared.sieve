require "fileinto";
fileinto "Shared";
