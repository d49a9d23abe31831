require "ihave";
if ihave "fileinto" { fileinto "has-fileinto"; }
