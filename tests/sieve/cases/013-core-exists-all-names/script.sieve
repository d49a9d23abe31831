require "fileinto";
if exists ["from", "x-nope"] { fileinto "wrong"; } else { fileinto "not-all"; }
