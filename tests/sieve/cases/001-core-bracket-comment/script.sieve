require "fileinto"; /* a
 multi-line */ fileinto /* inline */ "A";
