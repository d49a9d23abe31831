ereject "x";
