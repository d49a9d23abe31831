require "fileinto";
fileinto "FromHelper";
