redirect "Archive Box <archive@Example.org>";
