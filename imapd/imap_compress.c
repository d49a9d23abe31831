/*
 * imap_compress.c: the COMPRESS=DEFLATE relay (see imap_compress.h).
 *
 * RFC 4978 3: raw DEFLATE (no zlib header) both ways, each burst the
 * server writes ended with a sync flush so the client can read it at once.
 * The relay thread alone uses the connection's stream after the command;
 * it reads from the client only while what it inflated before has gone to
 * the session, so neither side can fill the other's buffers in a circle.
 * It ends when the session closes its end, or after the client went away
 * (the session then reads EOF and closes its end).
 */
#include "imap_compress.h"

#include "iostream.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#define CHUNK 16384

struct imap_compress {
	struct iostream *outer;
	int fd; /* the relay's end of the socketpair */
	pthread_t thread;
	z_stream in, out;
};

/* Deflate what the session wrote and send it to the client, flushed. */
static int send_deflated(struct imap_compress *c, const char *data, size_t len)
{
	unsigned char obuf[CHUNK];

	c->out.next_in = (unsigned char *)(uintptr_t)data;
	c->out.avail_in = (unsigned int)len;
	do {
		c->out.next_out = obuf;
		c->out.avail_out = sizeof(obuf);
		if (deflate(&c->out, Z_SYNC_FLUSH) == Z_STREAM_ERROR)
			return -1;
		if (iostream_write(c->outer, obuf, sizeof(obuf) - c->out.avail_out) != IOSTREAM_OK)
			return -1;
	} while (c->out.avail_out == 0);
	return iostream_flush(c->outer) == IOSTREAM_OK ? 0 : -1;
}

/* Inflate what the client sent into pending (for the session). */
static int take_inflated(struct imap_compress *c, const char *data, size_t len, struct sbuf *pending)
{
	unsigned char obuf[CHUNK];
	int r;

	c->in.next_in = (unsigned char *)(uintptr_t)data;
	c->in.avail_in = (unsigned int)len;
	do {
		c->in.next_out = obuf;
		c->in.avail_out = sizeof(obuf);
		r = inflate(&c->in, Z_SYNC_FLUSH);
		if (r != Z_OK && r != Z_BUF_ERROR)
			return -1; /* corrupt data, or the stream's end: the client is done */
		sbuf_append(pending, obuf, sizeof(obuf) - c->in.avail_out);
		if (r == Z_BUF_ERROR)
			break; /* no progress possible: everything given was taken */
	} while (c->in.avail_out == 0 || c->in.avail_in > 0);
	return 0;
}

static void *relay(void *arg)
{
	struct imap_compress *c = arg;
	struct sbuf pending = {0};
	size_t sent = 0;
	bool client_gone = false;
	char buf[CHUNK];

	for (;;) {
		struct pollfd pfd[2];
		/* the client is read only once the session has taken what came before */
		bool want_client = !client_gone && sent == pending.len;
		bool client_ready = want_client && iostream_pending(c->outer) > 0;
		int n = 0, oi = -1, pi;

		if (want_client && !client_ready) {
			pfd[n].fd = iostream_fd(c->outer);
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			oi = n++;
		}
		pfd[n].fd = c->fd;
		pfd[n].events = (short)(POLLIN | (sent < pending.len ? POLLOUT : 0));
		pfd[n].revents = 0;
		pi = n++;
		if (poll(pfd, (nfds_t)n, client_ready ? 0 : -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (oi >= 0 && pfd[oi].revents != 0)
			client_ready = true;
		if (pfd[pi].revents & POLLOUT) {
			ssize_t w = write(c->fd, pending.data + sent, pending.len - sent);

			if (w < 0 && errno != EAGAIN && errno != EINTR)
				break;
			if (w > 0 && (sent += (size_t)w) == pending.len) {
				sbuf_reset(&pending);
				sent = 0;
			}
		}
		if (pfd[pi].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(c->fd, buf, sizeof(buf));

			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
				break; /* the session is done */
			if (r > 0 && !client_gone && send_deflated(c, buf, (size_t)r) < 0)
				client_gone = true;
		}
		if (client_ready) {
			size_t got = 0;
			enum iostream_status st = iostream_read_some(c->outer, buf, sizeof(buf), &got);

			if (st != IOSTREAM_OK || take_inflated(c, buf, got, &pending) < 0)
				client_gone = true;
		}
		/* the session reads EOF once what it has is written */
		if (client_gone && sent == pending.len)
			shutdown(c->fd, SHUT_WR);
	}
	sbuf_free(&pending);
	return NULL;
}

int imap_compress_start(struct iostream *outer, struct imap_compress **c_r,
			struct iostream **inner_r, const char **error_r)
{
	struct imap_compress *c = xcalloc(1, sizeof(*c));
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		*error_r = errorf("socketpair: %s", strerror(errno));
		free(c);
		return -1;
	}
	/* RFC 4978 3: raw DEFLATE, a window of up to 32 KiB */
	if (deflateInit2(&c->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK) {
		*error_r = "deflateInit2 failed";
		goto fail;
	}
	if (inflateInit2(&c->in, -15) != Z_OK) {
		deflateEnd(&c->out);
		*error_r = "inflateInit2 failed";
		goto fail;
	}
	c->outer = outer;
	c->fd = sv[0];
	if (pthread_create(&c->thread, NULL, relay, c) != 0) {
		deflateEnd(&c->out);
		inflateEnd(&c->in);
		*error_r = "cannot start the compression thread";
		goto fail;
	}
	*inner_r = iostream_create(sv[1]);
	*c_r = c;
	return 0;
fail:
	close(sv[0]);
	close(sv[1]);
	free(c);
	return -1;
}

void imap_compress_stop(struct imap_compress **cp, struct iostream **inner)
{
	struct imap_compress *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	iostream_flush(*inner);
	iostream_destroy(inner);
	pthread_join(c->thread, NULL);
	close(c->fd);
	deflateEnd(&c->out);
	inflateEnd(&c->in);
	free(c);
}
