redirect "Carol@EXAMPLE.net";
redirect "Carol@example.NET";
redirect "carol@example.net";
