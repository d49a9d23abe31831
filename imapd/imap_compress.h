/*
 * imap_compress.h: COMPRESS=DEFLATE (RFC 4978) without touching the
 * stream layer: after the command, a relay thread owns the connection's
 * stream (plain or TLS) and moves bytes between it and a socketpair,
 * inflating what the client sends and deflating what the session writes;
 * the session goes on with an ordinary stream over its end of the pair.
 */
#ifndef SLUICE_IMAP_COMPRESS_H
#define SLUICE_IMAP_COMPRESS_H

struct iostream;
struct imap_compress;

/*
 * Start compressing on `outer` (which the relay now owns until
 * imap_compress_stop): *inner_r is the stream the session uses instead.
 */
int imap_compress_start(struct iostream *outer, struct imap_compress **c_r,
			struct iostream **inner_r, const char **error_r);
/* Close the session's stream, wait for the relay to finish; accepts NULL. */
void imap_compress_stop(struct imap_compress **c, struct iostream **inner);

#endif
