require "fileinto";
if header :contains ["x-none", "subject"] ["nothing", "STATUS"] { fileinto "hit"; }
