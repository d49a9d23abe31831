/*
 * iostream.c: the buffered stream of iostream.h: deadlines, the bounded line
 * reader, buffered writes, and the plaintext/TLS switch.
 *
 * Trust: everything read here comes from the network and is untrusted; this
 * file only frames it (lines, counted bytes) and never interprets it. Owns the
 * stream's fd, its SSL object and its two buffers; touches nothing global
 * (OpenSSL's error queue is per thread). Every wait is a poll() bounded by the
 * call's deadline, so TLS's WANT_READ/WANT_WRITE never block past it.
 * Connecting and the TLS handshake live in iostream_connect.c.
 */
#include "iostream.h"
#include "iostream_private.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* First size of the read buffer; it grows to max_len + 2 for long lines. */
#define READ_BUFFER_INITIAL 4096
/* No caller has a reason for lines longer than this; larger is a bug. */
#define LINE_MAX_LIMIT (1024 * 1024 * 1024)

void iostream_set_error(struct iostream *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
}

struct iostream *iostream_create(int fd)
{
	struct iostream *s;
	int flags;

	if (fd < 0)
		log_panic("iostream_create: bad fd %d", fd);
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0 && (flags & O_NONBLOCK) == 0)
		(void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	s = xcalloc(1, sizeof(*s));
	s->fd = fd;
	s->is_socket = true;
	s->interrupt_fd = -1;
	s->read_timeout_ms = IOSTREAM_DEFAULT_TIMEOUT_MS;
	s->write_timeout_ms = IOSTREAM_DEFAULT_TIMEOUT_MS;
	s->rsize = READ_BUFFER_INITIAL;
	s->rbuf = xmalloc(s->rsize + 1); /* + 1: room for the NUL after a line */
	s->wbuf = s->wbuf_own;
	s->wsize = sizeof(s->wbuf_own);
	return s;
}

void iostream_destroy(struct iostream **sp)
{
	struct iostream *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	if (s->ssl != NULL) {
		/* Best effort close_notify: one try, no waiting. */
		if (!s->broken && !s->tls_failed) {
			ERR_clear_error();
			(void)SSL_shutdown(s->ssl);
		}
		SSL_free(s->ssl);
		ERR_clear_error();
	}
	close(s->fd);
	sbuf_free(&s->long_line);
	free(s->rbuf);
	if (s->wbuf != s->wbuf_own)
		free(s->wbuf);
	free(s);
}

int iostream_fd(const struct iostream *s)
{
	return s->fd;
}

void iostream_set_timeouts(struct iostream *s, int read_ms, int write_ms)
{
	s->read_timeout_ms = read_ms;
	s->write_timeout_ms = write_ms;
}

void iostream_set_deadline(struct iostream *s, int64_t deadline_ms)
{
	s->deadline_ms = deadline_ms;
}

void iostream_set_interrupt_fd(struct iostream *s, int fd)
{
	s->interrupt_fd = fd;
}

const char *iostream_error(const struct iostream *s)
{
	return s->error[0] != '\0' ? s->error : "no error";
}

const char *iostream_status_name(enum iostream_status status)
{
	switch (status) {
	case IOSTREAM_OK:
		return "ok";
	case IOSTREAM_EOF:
		return "eof";
	case IOSTREAM_TIMEOUT:
		return "timeout";
	case IOSTREAM_TOO_LONG:
		return "too long";
	case IOSTREAM_INTERRUPTED:
		return "interrupted";
	case IOSTREAM_ERROR:
		return "error";
	}
	return "?";
}

int64_t iostream_call_deadline(const struct iostream *s, int timeout_ms)
{
	int64_t d = timeout_ms < 0 ? INT64_MAX : monotonic_ms() + timeout_ms;

	if (s->deadline_ms > 0 && s->deadline_ms < d)
		d = s->deadline_ms;
	return d;
}

enum iostream_status iostream_wait(struct iostream *s, short events, int64_t deadline,
                                   bool interruptible)
{
	struct pollfd p[2];
	nfds_t n = 1;
	int r, ms;

	p[0].fd = s->fd;
	p[0].events = events;
	if (interruptible && s->interrupt_fd >= 0) {
		p[1].fd = s->interrupt_fd;
		p[1].events = POLLIN;
		n = 2;
	}
	for (;;) {
		if (deadline == INT64_MAX) {
			ms = -1;
		} else {
			int64_t left = deadline - monotonic_ms();
			ms = left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
		}
		p[0].revents = 0;
		if (n == 2)
			p[1].revents = 0;
		r = poll(p, n, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			iostream_set_error(s, "poll: %s", strerror(errno));
			return IOSTREAM_ERROR;
		}
		if (r == 0) {
			if (deadline == s->deadline_ms)
				iostream_set_error(s, "session deadline passed");
			else
				iostream_set_error(s, "timed out waiting to %s",
				                   (events & POLLIN) != 0 ? "read" : "write");
			return IOSTREAM_TIMEOUT;
		}
		if (n == 2 && p[1].revents != 0) {
			iostream_set_error(s, "interrupted");
			return IOSTREAM_INTERRUPTED;
		}
		if ((p[0].revents & POLLNVAL) != 0) {
			iostream_set_error(s, "invalid fd");
			return IOSTREAM_ERROR;
		}
		return IOSTREAM_OK;
	}
}

/* After a fatal TLS error: record it; no close_notify may follow. */
static enum iostream_status tls_fail(struct iostream *s, int err, const char *what)
{
	s->tls_failed = true;
	if (err == SSL_ERROR_SYSCALL && errno != 0)
		iostream_set_error(s, "TLS %s: %s", what, strerror(errno));
	else if (err == SSL_ERROR_SYSCALL)
		iostream_set_error(s, "TLS %s: connection closed", what);
	else
		iostream_set_error(s, "TLS %s: %s", what, tls_last_error());
	ERR_clear_error();
	return IOSTREAM_ERROR;
}

/* One read of up to len bytes, waiting for readiness up to deadline. */
static enum iostream_status raw_read(struct iostream *s, void *buf, size_t len, size_t *got_r,
                                     int64_t deadline, bool interruptible)
{
	enum iostream_status st;
	short events;

	*got_r = 0;
	if (s->broken) {
		iostream_set_error(s, "stream unusable after a failed TLS handshake");
		return IOSTREAM_ERROR;
	}
	for (;;) {
		if (s->ssl != NULL) {
			size_t got = 0;
			int err;

			ERR_clear_error();
			errno = 0;
			if (SSL_read_ex(s->ssl, buf, len, &got) == 1) {
				*got_r = got;
				return IOSTREAM_OK;
			}
			err = SSL_get_error(s->ssl, 0);
			if (err == SSL_ERROR_WANT_READ) {
				events = POLLIN;
			} else if (err == SSL_ERROR_WANT_WRITE) {
				events = POLLOUT;
			} else if (err == SSL_ERROR_ZERO_RETURN ||
			           (err == SSL_ERROR_SYSCALL && errno == 0)) {
				/* close_notify, or a bare TCP close (accepted: every
				 * protocol here frames its own data). */
				iostream_set_error(s, "connection closed by peer");
				return IOSTREAM_EOF;
			} else {
				return tls_fail(s, err, "read failed");
			}
		} else {
			ssize_t n = read(s->fd, buf, len);

			if (n > 0) {
				*got_r = (size_t)n;
				return IOSTREAM_OK;
			}
			if (n == 0) {
				iostream_set_error(s, "connection closed by peer");
				return IOSTREAM_EOF;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				iostream_set_error(s, "read: %s", strerror(errno));
				return IOSTREAM_ERROR;
			}
			events = POLLIN;
		}
		st = iostream_wait(s, events, deadline, interruptible);
		if (st != IOSTREAM_OK)
			return st;
	}
}

/* Write all of p, waiting for readiness up to deadline. */
static enum iostream_status raw_write_all(struct iostream *s, const char *p, size_t len,
                                          int64_t deadline)
{
	enum iostream_status st;
	short events;

	if (s->broken) {
		iostream_set_error(s, "stream unusable after a failed TLS handshake");
		return IOSTREAM_ERROR;
	}
	while (len > 0) {
		if (s->ssl != NULL) {
			size_t w = 0;
			int err;

			ERR_clear_error();
			errno = 0;
			if (SSL_write_ex(s->ssl, p, len, &w) == 1) {
				p += w;
				len -= w;
				continue;
			}
			err = SSL_get_error(s->ssl, 0);
			if (err == SSL_ERROR_WANT_WRITE)
				events = POLLOUT;
			else if (err == SSL_ERROR_WANT_READ)
				events = POLLIN;
			else
				return tls_fail(s, err, "write failed");
		} else {
			ssize_t n;

			if (s->is_socket)
				n = send(s->fd, p, len, MSG_NOSIGNAL);
			else
				n = write(s->fd, p, len);
			if (n >= 0) {
				p += n;
				len -= (size_t)n;
				continue;
			}
			if (errno == ENOTSOCK && s->is_socket) {
				s->is_socket = false;
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				iostream_set_error(s, "write: %s", strerror(errno));
				return IOSTREAM_ERROR;
			}
			events = POLLOUT;
		}
		st = iostream_wait(s, events, deadline, false);
		if (st != IOSTREAM_OK)
			return st;
	}
	return IOSTREAM_OK;
}

/* Put back the byte a returned line's NUL replaced. */
void iostream_unpatch(struct iostream *s)
{
	if (s->patched) {
		s->rbuf[s->patch_pos] = s->patch_byte;
		s->patched = false;
	}
}

/* Return rbuf[off, off+len) as a NUL-terminated line, saving the byte replaced. */
static void return_line(struct iostream *s, size_t off, size_t len, enum iostream_eol eol,
                        struct iostream_line *line_r)
{
	s->patch_pos = off + len;
	s->patch_byte = s->rbuf[off + len];
	s->patched = true;
	s->rbuf[off + len] = '\0';
	line_r->data = s->rbuf + off;
	line_r->len = len;
	line_r->eol = eol;
}

/* Make room so that `want` bytes fit from rstart, compacting or growing. */
static void make_room(struct iostream *s, size_t want)
{
	size_t avail = s->rend - s->rstart;

	if (s->rstart > 0 && (s->rend == s->rsize || s->rsize - s->rstart < want)) {
		memmove(s->rbuf, s->rbuf + s->rstart, avail);
		s->rstart = 0;
		s->rend = avail;
	}
	if (s->rend == s->rsize && s->rsize < want) {
		size_t size = s->rsize * 2 < want ? want : s->rsize * 2;
		s->rbuf = xrealloc(s->rbuf, size + 1);
		s->rsize = size;
	}
}

/* Read more into the buffer after rend (there must be room). */
static enum iostream_status fill(struct iostream *s, int64_t deadline, bool interruptible)
{
	size_t got;
	enum iostream_status st;

	if (s->rstart == s->rend)
		s->rstart = s->rend = 0;
	if (s->rend == s->rsize)
		log_panic("iostream fill without room");
	st = raw_read(s, s->rbuf + s->rend, s->rsize - s->rend, &got, deadline, interruptible);
	if (st == IOSTREAM_OK)
		s->rend += got;
	return st;
}

/*
 * Throw away the rest of a line too long, through its LF, then return
 * IOSTREAM_TOO_LONG with the line's start. The state survives a timeout, so
 * the next line read goes on discarding rather than taking the tail of the
 * long line for a line of its own.
 */
static enum iostream_status discard_long_line(struct iostream *s, int64_t deadline,
                                              struct iostream_line *line_r)
{
	enum iostream_status st;

	for (;;) {
		char *start = s->rbuf + s->rstart;
		size_t avail = s->rend - s->rstart;
		char *lf = avail > 0 ? memchr(start, '\n', avail) : NULL;

		if (lf != NULL) {
			bool cr = lf > start ? lf[-1] == '\r' : s->discard_last_cr;
			s->rstart += (size_t)(lf - start) + 1;
			s->discarding = false;
			line_r->data = s->long_line.data;
			line_r->len = s->long_line.len;
			line_r->eol = cr ? IOSTREAM_EOL_CRLF : IOSTREAM_EOL_LF;
			iostream_set_error(s, "line longer than %zu bytes", s->long_line.len);
			return IOSTREAM_TOO_LONG;
		}
		if (avail > 0)
			s->discard_last_cr = start[avail - 1] == '\r';
		s->rstart = s->rend = 0;
		/* A fast sender never lets a wait time out: check the clock too. */
		if (monotonic_ms() > deadline) {
			iostream_set_error(s, "timed out discarding a line too long");
			return IOSTREAM_TIMEOUT;
		}
		st = fill(s, deadline, false);
		if (st != IOSTREAM_OK)
			return st;
	}
}

/* Keep the first max_len bytes of the line at rstart and start discarding. */
static enum iostream_status line_too_long(struct iostream *s, size_t max_len, int64_t deadline,
                                          struct iostream_line *line_r)
{
	sbuf_reset(&s->long_line);
	sbuf_append(&s->long_line, s->rbuf + s->rstart, max_len);
	s->rstart += max_len;
	s->discarding = true;
	s->discard_last_cr = false;
	return discard_long_line(s, deadline, line_r);
}

static enum iostream_status read_line_common(struct iostream *s, size_t max_len,
                                             struct iostream_line *line_r, bool parts)
{
	int64_t deadline;
	size_t scanned = 0;
	enum iostream_status st;

	iostream_unpatch(s);
	line_r->data = "";
	line_r->len = 0;
	line_r->eol = IOSTREAM_EOL_NONE;
	if (max_len > LINE_MAX_LIMIT || (parts && max_len == 0))
		log_panic("iostream: bad line limit %zu", max_len);
	deadline = iostream_call_deadline(s, s->read_timeout_ms);
	if (s->discarding)
		return discard_long_line(s, deadline, line_r);
	for (;;) {
		char *start = s->rbuf + s->rstart;
		size_t avail = s->rend - s->rstart;
		char *lf = NULL;

		if (scanned < avail)
			lf = memchr(start + scanned, '\n', avail - scanned);
		if (lf != NULL) {
			size_t n = (size_t)(lf - start);
			enum iostream_eol eol = IOSTREAM_EOL_LF;

			if (n > 0 && start[n - 1] == '\r') {
				n--;
				eol = IOSTREAM_EOL_CRLF;
			}
			if (n <= max_len) {
				return_line(s, s->rstart, n, eol, line_r);
				s->rstart += (size_t)(lf - start) + 1;
				return IOSTREAM_OK;
			}
			if (!parts)
				return line_too_long(s, max_len, deadline, line_r);
			/* A part: the line's end lies beyond it. */
			return_line(s, s->rstart, max_len, IOSTREAM_EOL_NONE, line_r);
			s->rstart += max_len;
			return IOSTREAM_OK;
		}
		scanned = avail;
		/* max_len bytes, a CR, and still no LF: longer than allowed. The
		 * byte after a part is then known not to be an LF, so a part never
		 * separates a CR from its LF. */
		if (avail >= max_len + 2) {
			if (!parts)
				return line_too_long(s, max_len, deadline, line_r);
			return_line(s, s->rstart, max_len, IOSTREAM_EOL_NONE, line_r);
			s->rstart += max_len;
			return IOSTREAM_OK;
		}
		make_room(s, max_len + 2);
		st = fill(s, deadline, avail == 0);
		if (st == IOSTREAM_EOF && avail > 0) {
			/* A partial line before EOF, handed over for logging. */
			size_t n = avail > max_len ? max_len : avail;
			return_line(s, s->rstart, n, IOSTREAM_EOL_NONE, line_r);
			s->rstart = s->rend;
			return IOSTREAM_EOF;
		}
		if (st != IOSTREAM_OK)
			return st;
	}
}

enum iostream_status iostream_read_line(struct iostream *s, size_t max_len,
                                        struct iostream_line *line_r)
{
	return read_line_common(s, max_len, line_r, false);
}

enum iostream_status iostream_read_line_part(struct iostream *s, size_t max_len,
                                             struct iostream_line *line_r)
{
	return read_line_common(s, max_len, line_r, true);
}

enum iostream_status iostream_read_exact(struct iostream *s, void *buf, size_t n)
{
	int64_t deadline = iostream_call_deadline(s, s->read_timeout_ms);
	char *p = buf;
	size_t done = 0;

	iostream_unpatch(s);
	s->discarding = false; /* the caller moved on from lines */
	while (done < n) {
		size_t avail = s->rend - s->rstart;
		enum iostream_status st;

		if (avail > 0) {
			size_t k = avail < n - done ? avail : n - done;
			memcpy(p + done, s->rbuf + s->rstart, k);
			s->rstart += k;
			done += k;
			continue;
		}
		if (n - done >= s->rsize) {
			/* Large remainder: read straight into the caller's buffer. */
			size_t got;
			st = raw_read(s, p + done, n - done, &got, deadline, false);
			if (st == IOSTREAM_OK)
				done += got;
		} else {
			st = fill(s, deadline, false);
		}
		if (st == IOSTREAM_EOF)
			iostream_set_error(s, "connection closed after %zu of %zu bytes", done, n);
		if (st != IOSTREAM_OK)
			return st;
	}
	return IOSTREAM_OK;
}

enum iostream_status iostream_read_some(struct iostream *s, void *buf, size_t max, size_t *got_r)
{
	int64_t deadline = iostream_call_deadline(s, s->read_timeout_ms);
	size_t avail;
	enum iostream_status st;

	iostream_unpatch(s);
	s->discarding = false;
	*got_r = 0;
	if (max == 0)
		return IOSTREAM_OK;
	if (s->rstart == s->rend) {
		if (max >= s->rsize)
			return raw_read(s, buf, max, got_r, deadline, false);
		st = fill(s, deadline, false);
		if (st != IOSTREAM_OK)
			return st;
	}
	avail = s->rend - s->rstart;
	*got_r = avail < max ? avail : max;
	memcpy(buf, s->rbuf + s->rstart, *got_r);
	s->rstart += *got_r;
	return IOSTREAM_OK;
}

size_t iostream_pending(const struct iostream *s)
{
	size_t n = s->rend - s->rstart;

	if (s->ssl != NULL && !s->broken)
		n += (size_t)SSL_pending(s->ssl);
	return n;
}

enum iostream_status iostream_flush(struct iostream *s)
{
	enum iostream_status st;

	if (s->write_status != IOSTREAM_OK)
		return s->write_status;
	if (s->wlen == 0)
		return IOSTREAM_OK;
	st = raw_write_all(s, s->wbuf, s->wlen, iostream_call_deadline(s, s->write_timeout_ms));
	if (st != IOSTREAM_OK)
		s->write_status = st;
	else
		s->wlen = 0;
	return st;
}

enum iostream_status iostream_write(struct iostream *s, const void *data, size_t len)
{
	int64_t deadline;
	enum iostream_status st;

	if (s->write_status != IOSTREAM_OK)
		return s->write_status;
	if (len <= s->wsize - s->wlen) {
		memcpy(s->wbuf + s->wlen, data, len);
		s->wlen += len;
		return IOSTREAM_OK;
	}
	/* One deadline for the whole call: the flush and a large write. */
	deadline = iostream_call_deadline(s, s->write_timeout_ms);
	if (s->wlen > 0) {
		st = raw_write_all(s, s->wbuf, s->wlen, deadline);
		if (st != IOSTREAM_OK)
			return s->write_status = st;
		s->wlen = 0;
	}
	if (len >= s->wsize) {
		st = raw_write_all(s, data, len, deadline);
		if (st != IOSTREAM_OK)
			s->write_status = st;
		return st;
	}
	memcpy(s->wbuf, data, len);
	s->wlen = len;
	return IOSTREAM_OK;
}

enum iostream_status iostream_write_str(struct iostream *s, const char *str)
{
	return iostream_write(s, str, strlen(str));
}

enum iostream_status iostream_printf(struct iostream *s, const char *fmt, ...)
{
	va_list ap, ap2;
	size_t room = s->wsize - s->wlen;
	enum iostream_status st;
	char *tmp;
	int n;

	if (s->write_status != IOSTREAM_OK)
		return s->write_status;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(s->wbuf + s->wlen, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		log_panic("iostream_printf: bad format '%s'", fmt);
	if ((size_t)n < room) {
		s->wlen += (size_t)n;
		va_end(ap2);
		return IOSTREAM_OK;
	}
	tmp = xmalloc((size_t)n + 1);
	vsnprintf(tmp, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	st = iostream_write(s, tmp, (size_t)n);
	free(tmp);
	return st;
}

enum iostream_status iostream_set_write_buffer(struct iostream *s, size_t size)
{
	enum iostream_status st = IOSTREAM_OK;
	char *buf;

	if (size < sizeof(s->wbuf_own))
		size = sizeof(s->wbuf_own);
	if (size == s->wsize)
		return IOSTREAM_OK;
	if (s->wlen > size) {
		st = iostream_flush(s);
		if (st != IOSTREAM_OK)
			s->wlen = 0; /* the failure sticks; nothing more is sent */
	}
	buf = size == sizeof(s->wbuf_own) ? s->wbuf_own : xmalloc(size);
	memmove(buf, s->wbuf, s->wlen);
	if (s->wbuf != s->wbuf_own)
		free(s->wbuf);
	s->wbuf = buf;
	s->wsize = size;
	return st;
}

size_t iostream_unflushed(const struct iostream *s)
{
	return s->wlen;
}

bool iostream_is_tls(const struct iostream *s)
{
	return s->ssl != NULL;
}
