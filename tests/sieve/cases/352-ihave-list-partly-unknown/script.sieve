require ["ihave", "fileinto"];
if ihave ["fileinto", "x-unknown"] { unknowncmd; } else { fileinto "not-all"; }
