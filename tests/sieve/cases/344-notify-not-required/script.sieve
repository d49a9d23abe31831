notify "mailto:carol@example.net";
