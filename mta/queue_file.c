/*
 * queue_file.c: the queue writer (see queue_file.h), used by sluice-smtpd,
 * by sluice-qmgr when it picks up maildrop/ files and when it queues a DSN.
 *
 * A message is written to tmp/<id> (envelope lines, then "data", then the
 * content as given), its size is filled into the fixed-width size field,
 * the file is fsynced, renamed into incoming/ (never replacing a file) and
 * incoming/ is fsynced. The rename is what wakes sluice-qmgr: it watches
 * incoming/ with inotify. Touches only tmp/<id> and incoming/<id>. The
 * format is documented in docs/queue-format.md.
 */
#include "queue_file.h"
#include "queue_dir.h"
#include "queue_format.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Buffered bytes are written once this many have gathered. */
#define WRITER_FLUSH_AT 65536

struct queue_writer {
	char *queue_dir;
	char id[QUEUE_ID_BUFSZ];
	char *tmp_path;
	int fd;
	struct sbuf buf;       /* bytes not yet written to fd */
	uint64_t written;      /* bytes already written to fd */
	uint64_t size_offset;  /* where the size digits are */
	uint64_t content_size; /* content bytes given so far */
	unsigned int recipients;
	bool data_started;
	bool failed; /* a write failed: only abort (or a failing commit) remains */
};

static const char *const ret_names[] = {"default", "full", "hdrs"};
static const char *const body_names[] = {"7bit", "8bitmime", "binarymime"};

static void put_field(struct sbuf *b, const char *key, const char *value)
{
	sbuf_append_str(b, key);
	sbuf_append(b, " ", 1);
	queue_xtext_encode(b, value, strlen(value));
	sbuf_append(b, "\n", 1);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The arrival time kept in the file, in ms: the caller's second when it lies
 * in the past, else (the same second, or none given) the precise time now,
 * so `delay=` in logs has sub-second precision.
 */
static int64_t arrival_ms(int64_t arrival)
{
	int64_t now = now_ms();

	if (arrival <= 0 || arrival * 1000 + 999 >= now)
		return now;
	return arrival * 1000 + 999;
}

static int flush_buf(struct queue_writer *w, const char **error_r)
{
	size_t off = 0;

	while (off < w->buf.len) {
		ssize_t n = write(w->fd, w->buf.data + off, w->buf.len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			w->failed = true;
			*error_r = errorf("write %s: %s", w->tmp_path, strerror(errno));
			return -1;
		}
		off += (size_t)n;
	}
	w->written += w->buf.len;
	sbuf_reset(&w->buf);
	return 0;
}

int queue_writer_begin(const char *queue_dir, const struct queue_envelope *env,
                       struct queue_writer **writer_r, const char **error_r)
{
	struct queue_writer *w = xcalloc(1, sizeof(*w));
	char digits[32];

	w->queue_dir = xstrdup(queue_dir);
	for (int tries = 0;; tries++) {
		queue_id_new(w->id);
		w->tmp_path = queue_path(queue_dir, QUEUE_SUB_TMP, w->id);
		w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (w->fd >= 0)
			break;
		if (errno != EEXIST || tries >= 5) {
			*error_r = errorf("create %s: %s", w->tmp_path, strerror(errno));
			free(w->tmp_path);
			free(w->queue_dir);
			free(w);
			return -1;
		}
		free(w->tmp_path);
	}

	sbuf_append_str(&w->buf, QUEUE_MAGIC);
	sbuf_appendf(&w->buf, "id %s\n", w->id);
	sbuf_append_str(&w->buf, "size ");
	w->size_offset = w->buf.len;
	queue_format_digits(digits, QUEUE_SIZE_DIGITS, 0);
	sbuf_append(&w->buf, digits, QUEUE_SIZE_DIGITS);
	sbuf_appendf(&w->buf, "\narrival %lld\n", (long long)arrival_ms(env->arrival));
	/* attempts, next attempt (0: now), flags ('-': no delay DSN sent yet) */
	sbuf_append_str(&w->buf, "state ");
	queue_format_digits(digits, QUEUE_STATE_ATTEMPT_DIGITS, 0);
	sbuf_append(&w->buf, digits, QUEUE_STATE_ATTEMPT_DIGITS);
	sbuf_append(&w->buf, " ", 1);
	queue_format_digits(digits, QUEUE_STATE_NEXT_DIGITS, 0);
	sbuf_append(&w->buf, digits, QUEUE_STATE_NEXT_DIGITS);
	sbuf_append_str(&w->buf, " -\n");
	put_field(&w->buf, "sender", env->sender != NULL ? env->sender : "");
	if (env->envid != NULL)
		put_field(&w->buf, "envid", env->envid);
	sbuf_appendf(&w->buf, "ret %s\nbody %s\nsmtputf8 %d\n",
	             ret_names[env->ret <= QUEUE_RET_HDRS ? env->ret : 0],
	             body_names[env->body <= QUEUE_BODY_BINARYMIME ? env->body : 0],
	             env->smtputf8 ? 1 : 0);
	if (env->auth_user != NULL)
		put_field(&w->buf, "auth", env->auth_user);
	put_field(&w->buf, "client", env->client_ip != NULL ? env->client_ip : "local");
	if (env->client_helo != NULL)
		put_field(&w->buf, "helo", env->client_helo);
	put_field(&w->buf, "origin", env->origin != NULL ? env->origin : "smtpd");
	*writer_r = w;
	return 0;
}

int queue_writer_add_recipient(struct queue_writer *writer, const struct queue_recipient *rcpt,
                               const char **error_r)
{
	struct sbuf *b = &writer->buf;
	unsigned int n = rcpt->notify;

	if (writer->failed) {
		*error_r = "the queue file could not be written";
		return -1;
	}
	if (writer->data_started) {
		*error_r = "recipients must come before the content";
		return -1;
	}
	if (rcpt->address == NULL || rcpt->address[0] == '\0') {
		*error_r = "empty recipient address";
		return -1;
	}
	/* status P (pending), no DSN code yet, the NOTIFY letters, L(ocal) or R(emote) */
	sbuf_appendf(b, "rcpt P %-*s %c%c%c%c %c ", QUEUE_RCPT_DSN_LEN, "-",
	             (n & QUEUE_NOTIFY_NEVER) ? 'N' : '-', (n & QUEUE_NOTIFY_SUCCESS) ? 'S' : '-',
	             (n & QUEUE_NOTIFY_FAILURE) ? 'F' : '-', (n & QUEUE_NOTIFY_DELAY) ? 'D' : '-',
	             rcpt->local ? 'L' : 'R');
	queue_xtext_encode(b, rcpt->address, strlen(rcpt->address));
	sbuf_append(b, " ", 1);
	if (rcpt->orig_rcpt != NULL && rcpt->orig_rcpt[0] != '\0')
		queue_xtext_encode(b, rcpt->orig_rcpt, strlen(rcpt->orig_rcpt));
	else
		sbuf_append(b, "-", 1);
	sbuf_append(b, " ", 1);
	if (rcpt->given != NULL && rcpt->given[0] != '\0')
		queue_xtext_encode(b, rcpt->given, strlen(rcpt->given));
	else
		sbuf_append(b, "-", 1);
	sbuf_append(b, "\n", 1);
	writer->recipients++;
	if (b->len >= WRITER_FLUSH_AT)
		return flush_buf(writer, error_r);
	return 0;
}

int queue_writer_write(struct queue_writer *writer, const void *data, size_t len,
                       const char **error_r)
{
	if (writer->failed) {
		*error_r = "the queue file could not be written";
		return -1;
	}
	if (!writer->data_started) {
		sbuf_append_str(&writer->buf, QUEUE_DATA_LINE);
		writer->data_started = true;
	}
	writer->content_size += len;
	if (writer->buf.len + len < WRITER_FLUSH_AT) {
		sbuf_append(&writer->buf, data, len);
		return 0;
	}
	if (flush_buf(writer, error_r) < 0)
		return -1;
	if (len < WRITER_FLUSH_AT) {
		sbuf_append(&writer->buf, data, len);
		return 0;
	}
	/* A big piece goes straight to the file. */
	for (size_t off = 0; off < len;) {
		ssize_t n = write(writer->fd, (const char *)data + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			writer->failed = true;
			*error_r = errorf("write %s: %s", writer->tmp_path, strerror(errno));
			return -1;
		}
		off += (size_t)n;
	}
	writer->written += len;
	return 0;
}

uint64_t queue_writer_size(const struct queue_writer *writer)
{
	return writer->content_size;
}

const char *queue_writer_id(const struct queue_writer *writer)
{
	return writer->id;
}

static void writer_free(struct queue_writer **writer)
{
	struct queue_writer *w = *writer;

	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	sbuf_free(&w->buf);
	free(w->tmp_path);
	free(w->queue_dir);
	free(w);
	*writer = NULL;
}

static int commit(struct queue_writer *w, const char **error_r)
{
	char digits[QUEUE_SIZE_DIGITS];
	char *dst, *dir;
	int r;

	if (w->failed) {
		*error_r = "the queue file could not be written";
		return -1;
	}
	if (w->recipients == 0) {
		*error_r = "a message without recipients";
		return -1;
	}
	if (!w->data_started) {
		sbuf_append_str(&w->buf, QUEUE_DATA_LINE);
		w->data_started = true;
	}
	if (flush_buf(w, error_r) < 0)
		return -1;
	queue_format_digits(digits, QUEUE_SIZE_DIGITS, w->content_size);
	if (pwrite(w->fd, digits, QUEUE_SIZE_DIGITS, (off_t)w->size_offset) != QUEUE_SIZE_DIGITS) {
		*error_r = errorf("write %s: %s", w->tmp_path, strerror(errno));
		return -1;
	}
	if (fsync(w->fd) < 0) {
		*error_r = errorf("fsync %s: %s", w->tmp_path, strerror(errno));
		return -1;
	}
	r = close(w->fd);
	w->fd = -1;
	if (r < 0) {
		*error_r = errorf("close %s: %s", w->tmp_path, strerror(errno));
		return -1;
	}
	if (queue_move(w->queue_dir, w->id, QUEUE_SUB_TMP, QUEUE_SUB_INCOMING) < 0) {
		dst = queue_path(w->queue_dir, QUEUE_SUB_INCOMING, w->id);
		*error_r = errorf("rename %s to %s: %s", w->tmp_path, dst, strerror(errno));
		free(dst);
		return -1;
	}
	/* The rename is durable only once the folder is synced. */
	dir = queue_path(w->queue_dir, QUEUE_SUB_INCOMING, NULL);
	r = queue_fsync_dir(dir, error_r);
	free(dir);
	if (r < 0) {
		/* Not durable: take it back so the client retries rather than trusts a 250. */
		dst = queue_path(w->queue_dir, QUEUE_SUB_INCOMING, w->id);
		unlink(dst);
		free(dst);
		return -1;
	}
	return 0;
}

int queue_writer_commit(struct queue_writer **writer, const char **error_r)
{
	struct queue_writer *w = *writer;
	int r = commit(w, error_r);

	if (r < 0)
		unlink(w->tmp_path);
	writer_free(writer);
	return r;
}

void queue_writer_abort(struct queue_writer **writer)
{
	if (*writer == NULL)
		return;
	unlink((*writer)->tmp_path);
	writer_free(writer);
}
