require ["extracttext", "foreverypart"];
foreverypart { extracttext "t"; }
