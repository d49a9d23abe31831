require ["foreverypart", "mime", "variables", "fileinto"];
set "n" "";
foreverypart :name "outer" { set "n" "${n}o"; foreverypart { set "n" "${n}i"; break :name "outer"; } }
fileinto "${n}";
