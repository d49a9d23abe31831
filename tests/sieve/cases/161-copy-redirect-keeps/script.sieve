require "copy";
redirect :copy "carol@example.net";
