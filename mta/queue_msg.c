/*
 * queue_msg.c: the queue file reader and in-place updater (see queue_msg.h).
 *
 * The envelope is parsed line by line with bounds (QUEUE_LINE_MAX per line,
 * QUEUE_ENVELOPE_MAX in all); the content is never loaded whole, only read
 * in pieces. Updates rewrite fixed-width fields with pwrite() and never
 * change the file's length, so a reader running at the same time (sluice-
 * queue) sees either the old or the new letters. Touches only the file it
 * opened.
 */
#include "queue_msg.h"
#include "log.h"
#include "queue_format.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The largest envelope read: about 40000 recipients with long addresses. */
#define QUEUE_ENVELOPE_MAX (32u * 1024 * 1024)
#define READ_CHUNK 65536

bool queue_rcpt_status_final(char status)
{
	return status == QUEUE_RCPT_SENT || status == QUEUE_RCPT_BOUNCED;
}

bool queue_rcpt_status_pending(char status)
{
	return status == QUEUE_RCPT_PENDING || status == QUEUE_RCPT_DEFERRED;
}

const char *queue_rcpt_status_name(char status)
{
	switch (status) {
	case QUEUE_RCPT_PENDING:
		return "pending";
	case QUEUE_RCPT_DEFERRED:
		return "deferred";
	case QUEUE_RCPT_SENT:
		return "sent";
	case QUEUE_RCPT_BOUNCED:
		return "bounced";
	case QUEUE_RCPT_FAILED:
		return "failed";
	case QUEUE_RCPT_DELIVERED:
		return "delivered";
	default:
		return "unknown";
	}
}

static bool status_valid(char c)
{
	return c == QUEUE_RCPT_PENDING || c == QUEUE_RCPT_DEFERRED || c == QUEUE_RCPT_SENT ||
	       c == QUEUE_RCPT_BOUNCED || c == QUEUE_RCPT_FAILED || c == QUEUE_RCPT_DELIVERED;
}

/* A forward-only line reader over the start of the file. */
struct env_reader {
	int fd;
	char *buf;
	size_t len, pos; /* bytes read; where the next line starts (= its file offset) */
	bool eof;
};

/* The next line (without its LF) or -1 at EOF / over the limits. */
static int next_line(struct env_reader *r, const char **line_r, size_t *len_r, off_t *off_r,
                     const char **error_r)
{
	for (;;) {
		char *nl = r->len > r->pos ? memchr(r->buf + r->pos, '\n', r->len - r->pos) : NULL;

		if (nl != NULL) {
			size_t n = (size_t)(nl - (r->buf + r->pos));
			if (n > QUEUE_LINE_MAX) {
				*error_r = "envelope line too long";
				return -1;
			}
			*line_r = r->buf + r->pos;
			*len_r = n;
			*off_r = (off_t)r->pos;
			r->pos += n + 1;
			return 0;
		}
		if (r->eof || r->len >= QUEUE_ENVELOPE_MAX) {
			*error_r = r->eof ? "the envelope has no end" : "envelope too big";
			return -1;
		}
		r->buf = xrealloc(r->buf, r->len + READ_CHUNK + 1);
		ssize_t n = pread(r->fd, r->buf + r->len, READ_CHUNK, (off_t)r->len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*error_r = errorf("read: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			r->eof = true;
		r->len += (size_t)n;
	}
}

static bool key_is(const char *line, size_t len, const char *key, const char **value_r,
                   size_t *vlen_r)
{
	size_t k = strlen(key);

	if (len < k || memcmp(line, key, k) != 0)
		return false;
	if (len == k) {
		*value_r = line + k;
		*vlen_r = 0;
		return true;
	}
	if (line[k] != ' ')
		return false;
	*value_r = line + k + 1;
	*vlen_r = len - k - 1;
	return true;
}

static int decode_field(const char *v, size_t vlen, char **out_r, const char **error_r,
                        const char *what)
{
	if (*out_r != NULL) {
		*error_r = errorf("%s given twice", what);
		return -1;
	}
	if (queue_xtext_decode(v, vlen, out_r) < 0) {
		*error_r = errorf("%s: bad xtext", what);
		return -1;
	}
	return 0;
}

static int parse_state(struct queue_msg *msg, const char *v, size_t vlen, const char **error_r)
{
	uint64_t attempts, next;

	if (vlen != QUEUE_STATE_FIELD_LEN || v[QUEUE_STATE_ATTEMPT_DIGITS] != ' ' ||
	    v[QUEUE_STATE_FIELD_LEN - 2] != ' ' ||
	    queue_parse_digits(v, QUEUE_STATE_ATTEMPT_DIGITS, &attempts) < 0 ||
	    queue_parse_digits(v + QUEUE_STATE_ATTEMPT_DIGITS + 1, QUEUE_STATE_NEXT_DIGITS, &next) <
	        0) {
		*error_r = "bad state field";
		return -1;
	}
	msg->attempts = (unsigned int)attempts;
	msg->next_attempt = (int64_t)next;
	msg->flag = v[QUEUE_STATE_FIELD_LEN - 1];
	return 0;
}

static int parse_rcpt(struct queue_msg *msg, const char *v, size_t vlen, off_t offset,
                      const char **error_r)
{
	struct queue_msg_rcpt r = {0};
	const char *p, *end = v + vlen, *sp;
	size_t dlen = QUEUE_RCPT_DSN_LEN;
	char *fields[3] = {NULL, NULL, NULL};

	/* status, ' ', DSN (9), ' ', NOTIFY (4), ' ', L|R, ' ', address orig given */
	if (vlen < QUEUE_RCPT_FIELD_LEN + 1 + 4 + 1 + 1 + 1 || v[1] != ' ' ||
	    v[QUEUE_RCPT_FIELD_LEN] != ' ' || !status_valid(v[0])) {
		*error_r = "bad rcpt line";
		return -1;
	}
	r.status = v[0];
	r.status_offset = offset;
	while (dlen > 0 && v[2 + dlen - 1] == ' ')
		dlen--;
	if (dlen == 0 || (dlen == 1 && v[2] == '-')) {
		r.dsn[0] = '\0';
	} else {
		memcpy(r.dsn, v + 2, dlen);
		r.dsn[dlen] = '\0';
	}
	p = v + QUEUE_RCPT_FIELD_LEN + 1;
	if (p[0] == 'N')
		r.notify |= QUEUE_NOTIFY_NEVER;
	if (p[1] == 'S')
		r.notify |= QUEUE_NOTIFY_SUCCESS;
	if (p[2] == 'F')
		r.notify |= QUEUE_NOTIFY_FAILURE;
	if (p[3] == 'D')
		r.notify |= QUEUE_NOTIFY_DELAY;
	if (p[4] != ' ' || (p[5] != 'L' && p[5] != 'R') || p[6] != ' ') {
		*error_r = "bad rcpt line";
		return -1;
	}
	r.local = p[5] == 'L';
	p += 7;
	for (int i = 0; i < 3; i++) {
		sp = memchr(p, ' ', (size_t)(end - p));
		if (sp == NULL)
			sp = end;
		if ((i < 2 && sp == end) || (i == 2 && sp != end) || sp == p) {
			*error_r = "bad rcpt line";
			goto fail;
		}
		if (!(i > 0 && sp - p == 1 && *p == '-') &&
		    queue_xtext_decode(p, (size_t)(sp - p), &fields[i]) < 0) {
			*error_r = "rcpt: bad xtext";
			goto fail;
		}
		p = sp + 1;
	}
	r.address = fields[0];
	r.orig_rcpt = fields[1];
	r.given = fields[2];
	if (msg->rcpt_count % 16 == 0)
		msg->rcpts = xrealloc(msg->rcpts, (msg->rcpt_count + 16) * sizeof(*msg->rcpts));
	msg->rcpts[msg->rcpt_count++] = r;
	return 0;
fail:
	for (int i = 0; i < 3; i++)
		free(fields[i]);
	return -1;
}

static int parse_envelope(struct queue_msg *msg, struct env_reader *r, const char **error_r)
{
	const char *line, *v;
	size_t len, vlen;
	off_t off;
	uint64_t n;
	bool have_id = false, have_size = false, have_state = false, have_arrival = false;

	if (next_line(r, &line, &len, &off, error_r) < 0)
		return -1;
	if (len + 1 != strlen(QUEUE_MAGIC) || memcmp(line, QUEUE_MAGIC, len) != 0) {
		*error_r = "not a queue file (or an unknown version)";
		return -1;
	}
	for (;;) {
		if (next_line(r, &line, &len, &off, error_r) < 0)
			return -1;
		if (len + 1 == strlen(QUEUE_DATA_LINE) && memcmp(line, QUEUE_DATA_LINE, len) == 0)
			break;
		if (key_is(line, len, "rcpt", &v, &vlen)) {
			if (parse_rcpt(msg, v, vlen, off + 5, error_r) < 0)
				return -1;
		} else if (key_is(line, len, "id", &v, &vlen)) {
			if (vlen != QUEUE_ID_LEN) {
				*error_r = "bad id";
				return -1;
			}
			memcpy(msg->id, v, QUEUE_ID_LEN);
			msg->id[QUEUE_ID_LEN] = '\0';
			have_id = true;
		} else if (key_is(line, len, "size", &v, &vlen)) {
			if (vlen != QUEUE_SIZE_DIGITS ||
			    queue_parse_digits(v, vlen, &msg->size) < 0) {
				*error_r = "bad size";
				return -1;
			}
			have_size = true;
		} else if (key_is(line, len, "arrival", &v, &vlen)) {
			if (queue_parse_digits(v, vlen, &n) < 0) {
				*error_r = "bad arrival";
				return -1;
			}
			msg->arrival_ms = (int64_t)n;
			have_arrival = true;
		} else if (key_is(line, len, "state", &v, &vlen)) {
			if (parse_state(msg, v, vlen, error_r) < 0)
				return -1;
			msg->state_offset = off + 6;
			have_state = true;
		} else if (key_is(line, len, "sender", &v, &vlen)) {
			if (decode_field(v, vlen, &msg->sender, error_r, "sender") < 0)
				return -1;
		} else if (key_is(line, len, "envid", &v, &vlen)) {
			if (decode_field(v, vlen, &msg->envid, error_r, "envid") < 0)
				return -1;
		} else if (key_is(line, len, "auth", &v, &vlen)) {
			if (decode_field(v, vlen, &msg->auth_user, error_r, "auth") < 0)
				return -1;
		} else if (key_is(line, len, "client", &v, &vlen)) {
			if (decode_field(v, vlen, &msg->client_ip, error_r, "client") < 0)
				return -1;
		} else if (key_is(line, len, "helo", &v, &vlen)) {
			if (decode_field(v, vlen, &msg->client_helo, error_r, "helo") < 0)
				return -1;
		} else if (key_is(line, len, "origin", &v, &vlen)) {
			if (decode_field(v, vlen, &msg->origin, error_r, "origin") < 0)
				return -1;
		} else if (key_is(line, len, "ret", &v, &vlen)) {
			if (vlen == 4 && memcmp(v, "full", 4) == 0)
				msg->ret = QUEUE_RET_FULL;
			else if (vlen == 4 && memcmp(v, "hdrs", 4) == 0)
				msg->ret = QUEUE_RET_HDRS;
			else
				msg->ret = QUEUE_RET_DEFAULT;
		} else if (key_is(line, len, "body", &v, &vlen)) {
			if (vlen == 8 && memcmp(v, "8bitmime", 8) == 0)
				msg->body = QUEUE_BODY_8BITMIME;
			else if (vlen == 10 && memcmp(v, "binarymime", 10) == 0)
				msg->body = QUEUE_BODY_BINARYMIME;
			else
				msg->body = QUEUE_BODY_7BIT;
		} else if (key_is(line, len, "smtputf8", &v, &vlen)) {
			msg->smtputf8 = vlen == 1 && v[0] == '1';
		}
		/* Unknown keys are skipped: a newer writer may add fields. */
	}
	if (!have_id || !have_size || !have_state || !have_arrival || msg->sender == NULL) {
		*error_r = "the envelope lacks id, size, arrival, state or sender";
		return -1;
	}
	if (msg->rcpt_count == 0) {
		*error_r = "no recipients";
		return -1;
	}
	if (msg->client_ip == NULL)
		msg->client_ip = xstrdup("local");
	if (msg->origin == NULL)
		msg->origin = xstrdup("smtpd");
	msg->data_offset = (off_t)r->pos;
	return 0;
}

int queue_msg_open(const char *path, bool writable, struct queue_msg **msg_r, const char **error_r)
{
	struct queue_msg *msg = xcalloc(1, sizeof(*msg));
	struct env_reader r = {0};
	struct stat st;

	msg->fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW);
	if (msg->fd < 0) {
		*error_r = errorf("open %s: %s", path, strerror(errno));
		free(msg);
		return -1;
	}
	r.fd = msg->fd;
	if (parse_envelope(msg, &r, error_r) < 0)
		goto fail;
	if (fstat(msg->fd, &st) < 0) {
		*error_r = errorf("fstat %s: %s", path, strerror(errno));
		goto fail;
	}
	if ((uint64_t)st.st_size != (uint64_t)msg->data_offset + msg->size) {
		*error_r = errorf("%s: %lld bytes, but the envelope says %llu", path,
		                  (long long)st.st_size,
		                  (unsigned long long)((uint64_t)msg->data_offset + msg->size));
		goto fail;
	}
	free(r.buf);
	*msg_r = msg;
	return 0;
fail : {
	const char *e = *error_r;
	/* errorf's buffer is reused by the caller: keep the path in the message. */
	if (strncmp(e, path, strlen(path)) != 0)
		*error_r = errorf("%s: %s", path, e);
}
	free(r.buf);
	queue_msg_free(&msg);
	return -1;
}

void queue_msg_free(struct queue_msg **msgp)
{
	struct queue_msg *msg = *msgp;

	if (msg == NULL)
		return;
	if (msg->fd >= 0)
		close(msg->fd);
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		free(msg->rcpts[i].address);
		free(msg->rcpts[i].orig_rcpt);
		free(msg->rcpts[i].given);
	}
	free(msg->rcpts);
	free(msg->sender);
	free(msg->envid);
	free(msg->auth_user);
	free(msg->client_ip);
	free(msg->client_helo);
	free(msg->origin);
	free(msg);
	*msgp = NULL;
}

static int pwrite_all(struct queue_msg *msg, const char *data, size_t len, off_t off,
                      const char **error_r)
{
	while (len > 0) {
		ssize_t n = pwrite(msg->fd, data, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*error_r = errorf("%s: write: %s", msg->id, strerror(errno));
			return -1;
		}
		data += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int queue_msg_set_rcpt(struct queue_msg *msg, size_t i, char status, const char *dsn,
                       const char **error_r)
{
	struct queue_msg_rcpt *r = &msg->rcpts[i];
	char field[QUEUE_RCPT_FIELD_LEN + 1];

	if (!status_valid(status))
		log_panic("queue_msg_set_rcpt: bad status '%c'", status);
	if (dsn != NULL && dsn[0] != '\0') {
		size_t n = strlen(dsn);
		if (n > QUEUE_RCPT_DSN_LEN)
			n = QUEUE_RCPT_DSN_LEN;
		memcpy(r->dsn, dsn, n);
		r->dsn[n] = '\0';
	}
	snprintf(field, sizeof(field), "%c %-*s", status, QUEUE_RCPT_DSN_LEN,
	         r->dsn[0] != '\0' ? r->dsn : "-");
	if (pwrite_all(msg, field, QUEUE_RCPT_FIELD_LEN, r->status_offset, error_r) < 0)
		return -1;
	r->status = status;
	return 0;
}

int queue_msg_set_state(struct queue_msg *msg, unsigned int attempts, int64_t next_attempt,
                        char flag, const char **error_r)
{
	char field[QUEUE_STATE_FIELD_LEN];

	if (attempts > 999999)
		attempts = 999999;
	if (next_attempt < 0)
		next_attempt = 0;
	queue_format_digits(field, QUEUE_STATE_ATTEMPT_DIGITS, attempts);
	field[QUEUE_STATE_ATTEMPT_DIGITS] = ' ';
	if (queue_format_digits(field + QUEUE_STATE_ATTEMPT_DIGITS + 1, QUEUE_STATE_NEXT_DIGITS,
	                        (uint64_t)next_attempt) < 0) {
		*error_r = "next attempt time out of range";
		return -1;
	}
	field[QUEUE_STATE_FIELD_LEN - 2] = ' ';
	field[QUEUE_STATE_FIELD_LEN - 1] = flag;
	if (pwrite_all(msg, field, sizeof(field), msg->state_offset, error_r) < 0)
		return -1;
	msg->attempts = attempts;
	msg->next_attempt = next_attempt;
	msg->flag = flag;
	return 0;
}

int queue_msg_sync(struct queue_msg *msg, const char **error_r)
{
	if (fdatasync(msg->fd) < 0) {
		*error_r = errorf("%s: fdatasync: %s", msg->id, strerror(errno));
		return -1;
	}
	return 0;
}

ssize_t queue_msg_read(struct queue_msg *msg, uint64_t off, void *buf, size_t len,
                       const char **error_r)
{
	ssize_t n;

	if (off >= msg->size)
		return 0;
	if (len > msg->size - off)
		len = (size_t)(msg->size - off);
	do {
		n = pread(msg->fd, buf, len, msg->data_offset + (off_t)off);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		*error_r = errorf("%s: read: %s", msg->id, strerror(errno));
		return -1;
	}
	if (n == 0 && len > 0) {
		*error_r = errorf("%s: the file is shorter than its size", msg->id);
		return -1;
	}
	return n;
}

int queue_msg_read_header(struct queue_msg *msg, size_t max, struct sbuf *out, const char **error_r)
{
	char buf[8192];
	uint64_t off = 0;
	size_t scan_from = 0;

	while (out->len < max) {
		size_t want = sizeof(buf) < max - out->len ? sizeof(buf) : max - out->len;
		ssize_t n = queue_msg_read(msg, off, buf, want, error_r);

		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		sbuf_append(out, buf, (size_t)n);
		off += (uint64_t)n;
		/* The header ends at the first empty line (CRLF CRLF, or LF LF). */
		for (size_t i = scan_from; i < out->len; i++) {
			if (out->data[i] != '\n')
				continue;
			if (i == 0 || (i == 1 && out->data[0] == '\r')) {
				out->len = i + 1;
				out->data[out->len] = '\0';
				return 0;
			}
			if (i >= 1 && out->data[i - 1] == '\n') {
				out->len = i + 1;
				out->data[out->len] = '\0';
				return 0;
			}
			if (i >= 2 && out->data[i - 1] == '\r' && out->data[i - 2] == '\n') {
				out->len = i + 1;
				out->data[out->len] = '\0';
				return 0;
			}
		}
		scan_from = out->len;
	}
	return 0;
}
