/*
 * iostream_private.h: the inside of struct iostream, shared only by
 * iostream.c (buffered I/O) and iostream_connect.c (connecting, TLS
 * handshakes). Nothing else includes this file.
 */
#ifndef SLUICE_IOSTREAM_PRIVATE_H
#define SLUICE_IOSTREAM_PRIVATE_H

#include "iostream.h"
#include "tls.h"
#include "util.h"

#include <openssl/ssl.h>

struct iostream {
	int fd;
	bool is_socket;  /* send(MSG_NOSIGNAL) works; false after ENOTSOCK */
	SSL *ssl;        /* NULL in plaintext */
	bool broken;     /* a TLS handshake failed: only destroy is allowed */
	bool tls_failed; /* a fatal TLS error: send no close_notify */
	int read_timeout_ms;
	int write_timeout_ms;
	int64_t deadline_ms; /* absolute, monotonic; 0 none */
	int interrupt_fd;

	/* Input: unread bytes are rbuf[rstart, rend); rbuf has rsize + 1 bytes. */
	char *rbuf;
	size_t rsize, rstart, rend;
	/* The byte a returned line's NUL replaced, restored at the next call. */
	size_t patch_pos;
	char patch_byte;
	bool patched;
	struct sbuf long_line; /* the kept start of a line too long */
	bool discarding;       /* the rest of that line is still to be thrown away */
	bool discard_last_cr;  /* the last byte thrown away was a CR */

	/*
	 * Output: buffered bytes wbuf[0, wlen) of wsize, and the sticky result of
	 * a failed write. wbuf is wbuf_own unless iostream_set_write_buffer() gave
	 * the stream a larger one on the heap for a while.
	 */
	char *wbuf;
	size_t wsize, wlen;
	char wbuf_own[IOSTREAM_WRITE_BUFFER];
	enum iostream_status write_status;

	char error[256];
};

void iostream_set_error(struct iostream *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The deadline of a call that may wait timeout_ms (negative: forever). */
int64_t iostream_call_deadline(const struct iostream *s, int timeout_ms);
/* Wait for events on the fd (and the interrupt fd when interruptible). */
enum iostream_status iostream_wait(struct iostream *s, short events, int64_t deadline,
                                   bool interruptible);
/* Restore the byte under the NUL of the last line returned. */
void iostream_unpatch(struct iostream *s);

#endif
