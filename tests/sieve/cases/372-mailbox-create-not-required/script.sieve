require "fileinto";
fileinto :create "X";
