redirect "postmaster";
