require "fileinto";
if header :is "to" "bob+lists@example.com, \"Alice B.\" <alice@example.org>, undisclosed-friends: carol@example.net, dave+work+home@example.net;, \"quoted local\"@example.com" { fileinto "unfolded"; }
