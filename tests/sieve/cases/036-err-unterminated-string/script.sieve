require "fileinto;
