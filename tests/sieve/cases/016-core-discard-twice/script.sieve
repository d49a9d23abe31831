discard;
discard;
