fileinto "needs require";
