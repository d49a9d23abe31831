require ["environment", "fileinto"];
if allof (environment :is "name" "Sluice", environment :is "location" "MDA", environment :is "phase" "during") { fileinto "env"; }
