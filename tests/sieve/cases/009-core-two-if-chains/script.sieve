require "fileinto";
if true { fileinto "a"; } else { fileinto "b"; }
if false { fileinto "c"; } else { fileinto "d"; }
