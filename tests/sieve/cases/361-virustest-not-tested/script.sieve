require ["virustest", "fileinto"];
if virustest :is "0" { fileinto "not-tested"; }
