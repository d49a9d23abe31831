/*
 * queue_maildrop.c: writing and reading maildrop/ files (see
 * queue_maildrop.h). The writer runs inside sluice-sendmail as any user;
 * the reader runs in sluice-qmgr and treats the file as untrusted: O_NOFOLLOW,
 * one link, owner recorded, every line and count bounded, and the file's
 * length must match its size field. Touches only maildrop/.
 */
#include "queue_maildrop.h"
#include "queue_dir.h"
#include "queue_format.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAILDROP_FLUSH_AT 65536

struct maildrop_writer {
	char *dir, *tmp_path, *final_path;
	int fd;
	struct sbuf buf;
	uint64_t size_offset, content_size;
	bool data_started, failed;
};

static int mw_flush(struct maildrop_writer *w, const char **error_r)
{
	for (size_t off = 0; off < w->buf.len;) {
		ssize_t n = write(w->fd, w->buf.data + off, w->buf.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			w->failed = true;
			*error_r = errorf("write %s: %s", w->tmp_path, strerror(errno));
			return -1;
		}
		off += (size_t)n;
	}
	sbuf_reset(&w->buf);
	return 0;
}

static void put_field(struct sbuf *b, const char *key, const char *value)
{
	sbuf_appendf(b, "%s ", key);
	queue_xtext_encode(b, value, strlen(value));
	sbuf_append(b, "\n", 1);
}

int maildrop_writer_begin(const char *queue_dir, const struct maildrop_envelope *env,
                          struct maildrop_writer **w_r, const char **error_r)
{
	struct maildrop_writer *w = xcalloc(1, sizeof(*w));
	char name[QUEUE_ID_BUFSZ], digits[QUEUE_SIZE_DIGITS];
	unsigned int n = env->notify;

	w->dir = queue_path(queue_dir, QUEUE_SUB_MAILDROP, NULL);
	for (int tries = 0;; tries++) {
		queue_id_new(name);
		w->tmp_path = xasprintf("%s/.tmp.%s", w->dir, name);
		w->final_path = xasprintf("%s/%s", w->dir, name);
		/* 0644: qmgr runs as another user; nobody else can list the folder to find it. */
		w->fd =
		    open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (w->fd >= 0)
			break;
		if (errno != EEXIST || tries >= 5) {
			*error_r = errorf("create %s: %s", w->tmp_path, strerror(errno));
			free(w->tmp_path);
			free(w->final_path);
			free(w->dir);
			free(w);
			return -1;
		}
		free(w->tmp_path);
		free(w->final_path);
	}
	/* The umask must not take qmgr's read access away. */
	(void)fchmod(w->fd, 0644);
	sbuf_append_str(&w->buf, MAILDROP_MAGIC);
	sbuf_append_str(&w->buf, "size ");
	w->size_offset = w->buf.len;
	queue_format_digits(digits, QUEUE_SIZE_DIGITS, 0);
	sbuf_append(&w->buf, digits, QUEUE_SIZE_DIGITS);
	sbuf_append(&w->buf, "\n", 1);
	if (env->sender != NULL)
		put_field(&w->buf, "sender", env->sender);
	if (env->fullname != NULL)
		put_field(&w->buf, "fullname", env->fullname);
	if (n != 0)
		sbuf_appendf(&w->buf, "notify %c%c%c%c\n", (n & QUEUE_NOTIFY_NEVER) ? 'N' : '-',
		             (n & QUEUE_NOTIFY_SUCCESS) ? 'S' : '-',
		             (n & QUEUE_NOTIFY_FAILURE) ? 'F' : '-',
		             (n & QUEUE_NOTIFY_DELAY) ? 'D' : '-');
	if (env->ret == QUEUE_RET_FULL)
		sbuf_append_str(&w->buf, "ret full\n");
	else if (env->ret == QUEUE_RET_HDRS)
		sbuf_append_str(&w->buf, "ret hdrs\n");
	if (env->envid != NULL)
		put_field(&w->buf, "envid", env->envid);
	for (size_t i = 0; i < env->rcpt_count; i++)
		put_field(&w->buf, "rcpt", env->rcpts[i]);
	*w_r = w;
	return 0;
}

int maildrop_writer_write(struct maildrop_writer *w, const void *data, size_t len,
                          const char **error_r)
{
	if (w->failed) {
		*error_r = "the maildrop file could not be written";
		return -1;
	}
	if (!w->data_started) {
		sbuf_append_str(&w->buf, QUEUE_DATA_LINE);
		w->data_started = true;
	}
	sbuf_append(&w->buf, data, len);
	w->content_size += len;
	if (w->buf.len >= MAILDROP_FLUSH_AT)
		return mw_flush(w, error_r);
	return 0;
}

uint64_t maildrop_writer_size(const struct maildrop_writer *w)
{
	return w->content_size;
}

static void mw_free(struct maildrop_writer **wp)
{
	struct maildrop_writer *w = *wp;

	if (w->fd >= 0)
		close(w->fd);
	sbuf_free(&w->buf);
	free(w->tmp_path);
	free(w->final_path);
	free(w->dir);
	free(w);
	*wp = NULL;
}

int maildrop_writer_commit(struct maildrop_writer **wp, const char **error_r)
{
	struct maildrop_writer *w = *wp;
	char digits[QUEUE_SIZE_DIGITS];
	int fd;

	if (!w->data_started)
		sbuf_append_str(&w->buf, QUEUE_DATA_LINE);
	w->data_started = true;
	if (w->failed || mw_flush(w, error_r) < 0)
		goto fail;
	queue_format_digits(digits, QUEUE_SIZE_DIGITS, w->content_size);
	if (pwrite(w->fd, digits, QUEUE_SIZE_DIGITS, (off_t)w->size_offset) != QUEUE_SIZE_DIGITS ||
	    fsync(w->fd) < 0) {
		*error_r = errorf("write %s: %s", w->tmp_path, strerror(errno));
		goto fail;
	}
	if (rename(w->tmp_path, w->final_path) < 0) {
		*error_r = errorf("rename %s: %s", w->tmp_path, strerror(errno));
		goto fail;
	}
	/* Only the folder's owner can open it to fsync it; others rely on the journal. */
	fd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	mw_free(wp);
	return 0;
fail:
	unlink(w->tmp_path);
	mw_free(wp);
	return -1;
}

void maildrop_writer_abort(struct maildrop_writer **wp)
{
	if (*wp == NULL)
		return;
	unlink((*wp)->tmp_path);
	mw_free(wp);
}

bool maildrop_name_valid(const char *name)
{
	return queue_id_valid(name);
}

static bool key_is(const char *line, size_t len, const char *key, const char **v_r, size_t *vlen_r)
{
	size_t k = strlen(key);

	if (len <= k || memcmp(line, key, k) != 0 || line[k] != ' ')
		return false;
	*v_r = line + k + 1;
	*vlen_r = len - k - 1;
	return true;
}

static int parse(struct maildrop_file *f, unsigned int max_rcpts, const char **error_r)
{
	char buf[MAILDROP_LINE_MAX + 1];
	size_t have = 0;
	off_t file_off = 0;
	bool magic = false, have_size = false;

	for (;;) {
		char *nl = memchr(buf, '\n', have);
		if (nl == NULL) {
			if (have == sizeof(buf) - 1) {
				*error_r = "envelope line too long";
				return -1;
			}
			ssize_t n = pread(f->fd, buf + have, sizeof(buf) - 1 - have,
			                  file_off + (off_t)have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				*error_r = n < 0 ? "read error" : "the envelope has no end";
				return -1;
			}
			have += (size_t)n;
			continue;
		}
		size_t len = (size_t)(nl - buf), vlen;
		const char *v;
		char *value = NULL;

		if (!magic) {
			if (len + 1 != strlen(MAILDROP_MAGIC) ||
			    memcmp(buf, MAILDROP_MAGIC, len) != 0) {
				*error_r = "not a maildrop file";
				return -1;
			}
			magic = true;
		} else if (len + 1 == strlen(QUEUE_DATA_LINE) &&
		           memcmp(buf, QUEUE_DATA_LINE, len) == 0) {
			f->data_offset = file_off + (off_t)len + 1;
			break;
		} else if (key_is(buf, len, "size", &v, &vlen)) {
			if (vlen != QUEUE_SIZE_DIGITS ||
			    queue_parse_digits(v, vlen, &f->size) < 0) {
				*error_r = "bad size";
				return -1;
			}
			have_size = true;
		} else if (key_is(buf, len, "notify", &v, &vlen) && vlen == 4) {
			f->notify = (v[0] == 'N' ? QUEUE_NOTIFY_NEVER : 0) |
			            (v[1] == 'S' ? QUEUE_NOTIFY_SUCCESS : 0) |
			            (v[2] == 'F' ? QUEUE_NOTIFY_FAILURE : 0) |
			            (v[3] == 'D' ? QUEUE_NOTIFY_DELAY : 0);
		} else if (key_is(buf, len, "ret", &v, &vlen)) {
			f->ret = vlen == 4 && memcmp(v, "full", 4) == 0   ? QUEUE_RET_FULL
			         : vlen == 4 && memcmp(v, "hdrs", 4) == 0 ? QUEUE_RET_HDRS
			                                                  : QUEUE_RET_DEFAULT;
		} else if (strncmp(buf, "sender", 6) == 0 && (len == 6 || buf[6] == ' ')) {
			/* "sender " with an empty value is -f '<>'. */
			if (f->sender != NULL ||
			    queue_xtext_decode(len > 7 ? buf + 7 : "", len > 7 ? len - 7 : 0,
			                       &f->sender) < 0) {
				*error_r = "bad sender";
				return -1;
			}
		} else if (key_is(buf, len, "fullname", &v, &vlen)) {
			if (f->fullname != NULL || queue_xtext_decode(v, vlen, &f->fullname) < 0) {
				*error_r = "bad fullname";
				return -1;
			}
		} else if (key_is(buf, len, "envid", &v, &vlen)) {
			if (f->envid != NULL || queue_xtext_decode(v, vlen, &f->envid) < 0) {
				*error_r = "bad envid";
				return -1;
			}
		} else if (key_is(buf, len, "rcpt", &v, &vlen)) {
			if (f->rcpt_count >= max_rcpts) {
				*error_r = "too many recipients";
				return -1;
			}
			if (queue_xtext_decode(v, vlen, &value) < 0 || value[0] == '\0') {
				free(value);
				*error_r = "bad recipient";
				return -1;
			}
			f->rcpts = xrealloc(f->rcpts, (f->rcpt_count + 1) * sizeof(*f->rcpts));
			f->rcpts[f->rcpt_count++] = value;
		} else {
			*error_r = "unknown envelope line";
			return -1;
		}
		file_off += (off_t)len + 1;
		have -= len + 1;
		memmove(buf, nl + 1, have);
	}
	if (!have_size || f->rcpt_count == 0) {
		*error_r = have_size ? "no recipients" : "no size";
		return -1;
	}
	return 0;
}

int maildrop_open(const char *queue_dir, const char *name, uint64_t max_size,
                  unsigned int max_rcpts, struct maildrop_file **f_r, const char **error_r)
{
	struct maildrop_file *f = xcalloc(1, sizeof(*f));
	char *path = xasprintf("%s/maildrop/%s", queue_dir, name);
	struct stat st;

	f->fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (f->fd < 0) {
		*error_r = errorf("open %s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		*error_r = errorf("%s: not a plain file with one link", path);
		goto fail;
	}
	f->uid = st.st_uid;
	f->mtime = st.st_mtime;
	if (parse(f, max_rcpts, error_r) < 0) {
		*error_r = errorf("%s: %s", path, *error_r);
		goto fail;
	}
	if (f->size > max_size) {
		*error_r = errorf("%s: message of %llu bytes is over the limit", path,
		                  (unsigned long long)f->size);
		goto fail;
	}
	if ((uint64_t)st.st_size != (uint64_t)f->data_offset + f->size) {
		*error_r = errorf("%s: length does not match the size field", path);
		goto fail;
	}
	free(path);
	*f_r = f;
	return 0;
fail:
	free(path);
	maildrop_free(&f);
	return -1;
}

ssize_t maildrop_read(struct maildrop_file *f, uint64_t off, void *buf, size_t len,
                      const char **error_r)
{
	ssize_t n;

	if (off >= f->size)
		return 0;
	if (len > f->size - off)
		len = (size_t)(f->size - off);
	do {
		n = pread(f->fd, buf, len, f->data_offset + (off_t)off);
	} while (n < 0 && errno == EINTR);
	if (n <= 0) {
		*error_r =
		    n < 0 ? errorf("read: %s", strerror(errno)) : "file shorter than its size";
		return -1;
	}
	return n;
}

void maildrop_free(struct maildrop_file **fp)
{
	struct maildrop_file *f = *fp;

	if (f == NULL)
		return;
	if (f->fd >= 0)
		close(f->fd);
	for (size_t i = 0; i < f->rcpt_count; i++)
		free(f->rcpts[i]);
	free(f->rcpts);
	free(f->sender);
	free(f->fullname);
	free(f->envid);
	free(f);
	*fp = NULL;
}
