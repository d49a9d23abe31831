/*
 * iostream.h: buffered I/O over a socket, in plaintext or TLS, with a
 * deadline on every read and write.
 *
 * One bounded line reader serves every protocol: a line has a maximum length,
 * each call has a deadline, and a line too long is an explicit result. The
 * stream puts its fd in non-blocking mode and waits with poll(), so a
 * connection thread's code reads top to bottom and never blocks past its
 * deadline, in plaintext or TLS. After iostream_starttls_*() the same read and
 * write calls go through TLS, so protocol code does not know which it uses;
 * STARTTLS throws away every byte read before the handshake (RFC 3207 5).
 *
 * A stream belongs to one thread. Programs using it must ignore SIGPIPE
 * (server_run() does).
 */
#ifndef SLUICE_IOSTREAM_H
#define SLUICE_IOSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iostream;
struct tls_ctx;

enum iostream_status {
	IOSTREAM_OK,
	IOSTREAM_EOF,         /* the peer closed (a partial line may come with it) */
	IOSTREAM_TIMEOUT,     /* the call's deadline, or the stream's, passed */
	IOSTREAM_TOO_LONG,    /* a line exceeded max_len; it was consumed to its end */
	IOSTREAM_INTERRUPTED, /* the interrupt fd became readable while idle */
	IOSTREAM_ERROR,       /* see iostream_error() */
};

/* How a line ended; SMTP smuggling defences need to tell CRLF from bare LF. */
enum iostream_eol {
	IOSTREAM_EOL_NONE, /* no end yet: a part of a long line, or cut by EOF */
	IOSTREAM_EOL_LF,
	IOSTREAM_EOL_CRLF,
};

/*
 * A line without its end. data is NUL-terminated after len bytes but may hold
 * NULs and bare CRs of its own; it is valid until the next call on the stream.
 */
struct iostream_line {
	const char *data;
	size_t len;
	enum iostream_eol eol;
};

/* Timeouts a new stream starts with, in milliseconds. */
#define IOSTREAM_DEFAULT_TIMEOUT_MS (5 * 60 * 1000)
/* Size of the write buffer: iostream_write() waits only when it is full. */
#define IOSTREAM_WRITE_BUFFER 16384

/* Wrap a connected socket (or any fd); the stream owns it and sets O_NONBLOCK. */
struct iostream *iostream_create(int fd);
/*
 * Close the fd (after a best-effort TLS close_notify) and free; accepts NULL.
 * Output not yet flushed is dropped: flush first, so closing never waits.
 */
void iostream_destroy(struct iostream **s);
/* Connect over TCP to host (a name or address) and port, trying each address. */
int iostream_connect_tcp(const char *host, const char *port, int timeout_ms, struct iostream **s_r,
                         const char **error_r);
/* Connect to a UNIX stream socket. */
int iostream_connect_unix(const char *path, int timeout_ms, struct iostream **s_r,
                          const char **error_r);

int iostream_fd(const struct iostream *s);
/*
 * Deadlines per call: each read call must complete within read_ms and each
 * write or flush within write_ms. 0 means do not wait at all; negative means
 * wait forever (only for tests and trusted local peers).
 */
void iostream_set_timeouts(struct iostream *s, int read_ms, int write_ms);
/* An absolute deadline (monotonic_ms() clock) for every call; 0 removes it. */
void iostream_set_deadline(struct iostream *s, int64_t deadline_ms);
/*
 * An fd (or -1) that makes a line read return IOSTREAM_INTERRUPTED when it
 * becomes readable while the stream has no input buffered: the server core
 * sets its stop fd here so idle sessions can say goodbye at shutdown, while
 * transfers in progress go on.
 */
void iostream_set_interrupt_fd(struct iostream *s, int fd);
/* Text of the last failure (timeouts and EOF included). */
const char *iostream_error(const struct iostream *s);
const char *iostream_status_name(enum iostream_status status);

/*
 * Read one line of at most max_len bytes, not counting its end (LF or CRLF):
 * SMTP's 512 octets with CRLF are max_len 510. A longer line gives
 * IOSTREAM_TOO_LONG with its first max_len bytes in line_r and the rest read
 * and thrown away up to and including its LF, so the next call reads the
 * next line. EOF after a partial line gives IOSTREAM_EOF with the partial line
 * in line_r (eol NONE). When the deadline passes while a line too long is
 * being thrown away, the next call goes on throwing it away.
 */
enum iostream_status iostream_read_line(struct iostream *s, size_t max_len,
                                        struct iostream_line *line_r);
/*
 * Like iostream_read_line(), but a line longer than max_len comes in parts of
 * at most max_len bytes, each with eol NONE but the last: for message bodies,
 * where a long line is not an error. A CR is never split from its LF.
 */
enum iostream_status iostream_read_line_part(struct iostream *s, size_t max_len,
                                             struct iostream_line *line_r);
/* Read exactly n bytes (a literal, a BDAT chunk); EOF before n is IOSTREAM_EOF. */
enum iostream_status iostream_read_exact(struct iostream *s, void *buf, size_t n);
/* Read between 1 and max bytes, waiting only if nothing is buffered. */
enum iostream_status iostream_read_some(struct iostream *s, void *buf, size_t max, size_t *got_r);
/* Bytes readable without waiting (buffered here or inside TLS). */
size_t iostream_pending(const struct iostream *s);

/* Buffer bytes for the peer; waits (flushes) only when the buffer is full. */
enum iostream_status iostream_write(struct iostream *s, const void *data, size_t len);
enum iostream_status iostream_write_str(struct iostream *s, const char *str);
enum iostream_status iostream_printf(struct iostream *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Send everything buffered. A write failure sticks: later writes return it. */
enum iostream_status iostream_flush(struct iostream *s);
/*
 * Buffer up to size bytes instead of IOSTREAM_WRITE_BUFFER (0: back to that)
 * while a reply streams megabytes: fewer and larger writes, less work per
 * byte in the kernel. A larger buffer lives on the heap until the stream goes
 * back to its own, so an idle connection does not keep it. Shrinking flushes
 * what would not fit; the result is that flush's.
 */
enum iostream_status iostream_set_write_buffer(struct iostream *s, size_t size);
/* Bytes buffered and not yet sent. */
size_t iostream_unflushed(const struct iostream *s);

/*
 * Flush, discard all buffered input (*discarded_r tells how many bytes, so a
 * pipelining attempt can be logged) and run a server TLS handshake within the
 * read timeout. Returns 0, or -1 with the stream unusable for anything but
 * iostream_destroy().
 */
int iostream_starttls_server(struct iostream *s, struct tls_ctx *ctx, size_t *discarded_r,
                             const char **error_r);
/*
 * The client side: for implicit TLS right after connecting, or after the
 * server's go-ahead to STARTTLS. servername (or NULL) is sent as SNI and, with
 * a verifying context, must match the server's certificate.
 */
int iostream_starttls_client(struct iostream *s, struct tls_ctx *ctx, const char *servername,
                             size_t *discarded_r, const char **error_r);
bool iostream_is_tls(const struct iostream *s);

struct iostream_tls_info {
	const char *version;    /* "TLSv1.3" */
	const char *cipher;     /* "TLS_AES_256_GCM_SHA384" */
	int cipher_bits;        /* secret bits of the cipher */
	int cipher_alg_bits;    /* bits of the algorithm */
	bool peer_cert;         /* the peer presented a certificate */
	bool peer_verified;     /* ... and it verified (clients; servers do not ask) */
	char peer_subject[256]; /* its subject, "" without one */
};
/* Fill info_r for a TLS stream; -1 for a plaintext one. */
int iostream_tls_info(const struct iostream *s, struct iostream_tls_info *info_r);

#endif
