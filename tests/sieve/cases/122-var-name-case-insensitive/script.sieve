require ["variables", "fileinto"];
set "_Folder1" "Mixed";
fileinto "${_FOLDER1}";
