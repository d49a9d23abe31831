/*
 * imap_message.c: a stored message's bytes (see imap_message.h). Blob
 * names come from the index, never from the client, and are resolved by
 * the store (store_blob_path). A header read stops at the blank line, or
 * at the message header limit of lib/message.h.
 */
#include "imap_message.h"

#include "log.h"
#include "message.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK 65536

int imap_msg_open(struct imap_session *sess, const char *blob, const char *prefix,
		  struct imap_msg_file *f, const char **error_r)
{
	char path[PATH_MAX];
	struct stat st;

	f->fd = -1;
	f->prefix = prefix != NULL ? prefix : "";
	f->prefix_len = strlen(f->prefix);
	if (store_blob_path(sess->d->store, sess->mailbox.storage_dir, blob, path, sizeof(path)) < 0) {
		*error_r = "blob path too long";
		return STORE_IO_ERROR;
	}
	if (!sess->mail_dir_open) {
		char dir[PATH_MAX];

		/* the blob path above checked storage_dir: a folder below mail_root */
		sess->mail_dirfd = -1;
		if (snprintf(dir, sizeof(dir), "%s/%s", store_mail_root(sess->d->store),
			     sess->mailbox.storage_dir) < (int)sizeof(dir))
			sess->mail_dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		sess->mail_dir_open = true;
	}
	/* a thousand messages of a FETCH: one short lookup each instead of the whole path */
	f->fd = sess->mail_dirfd >= 0 ? openat(sess->mail_dirfd, blob, O_RDONLY | O_CLOEXEC)
				      : open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0 || fstat(f->fd, &st) < 0) {
		int err = errno;

		*error_r = errorf("open %s: %s", path, strerror(err));
		imap_msg_close(f);
		return err == ENOENT ? STORE_NOT_FOUND : STORE_IO_ERROR;
	}
	f->size = f->prefix_len + (uint64_t)st.st_size;
	return STORE_OK;
}

void imap_msg_close(struct imap_msg_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* Whether out holds a whole header block (its blank line). */
static bool header_complete(const struct sbuf *out, size_t from)
{
	size_t start = from > 3 ? from - 3 : 0;

	if (out->len == 0)
		return false;
	/* a message starting with its blank line has an empty header */
	if (out->data[0] == '\n' || (out->len > 1 && out->data[0] == '\r' && out->data[1] == '\n'))
		return true;
	return memmem(out->data + start, out->len - start, "\n\r\n", 3) != NULL ||
	       memmem(out->data + start, out->len - start, "\n\n", 2) != NULL;
}

int imap_msg_read(struct imap_msg_file *f, bool header_only, struct sbuf *out,
		  const char **error_r)
{
	struct message_limits lim;
	/* on the heap: an idle session keeps no big stack frame resident */
	char *buf = xmalloc(READ_CHUNK);
	off_t pos = 0;
	int rc = STORE_OK;

	message_limits_default(&lim);
	sbuf_append(out, f->prefix, f->prefix_len);
	if (header_only && header_complete(out, 0))
		goto out;
	for (;;) {
		size_t before = out->len;
		ssize_t n = pread(f->fd, buf, READ_CHUNK, pos);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			*error_r = errorf("read: %s", strerror(errno));
			rc = STORE_IO_ERROR;
			break;
		}
		if (n == 0)
			break;
		sbuf_append(out, buf, (size_t)n);
		pos += n;
		if (header_only && (header_complete(out, before) || out->len > lim.max_header_size))
			break;
	}
out:
	free(buf);
	return rc;
}

int imap_msg_send(struct imap_session *sess, struct imap_msg_file *f, uint64_t offset,
		  uint64_t len, const char **error_r)
{
	char *buf = xmalloc(READ_CHUNK);
	int rc = STORE_OK;

	if (offset < f->prefix_len) {
		size_t n = f->prefix_len - (size_t)offset;

		if (n > len)
			n = (size_t)len;
		imap_write(sess, f->prefix + offset, n);
		offset += n;
		len -= n;
	}
	while (len > 0) {
		size_t want = len > READ_CHUNK ? READ_CHUNK : (size_t)len;
		ssize_t n = pread(f->fd, buf, want, (off_t)(offset - f->prefix_len));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* the literal's size was announced: pad so the stream stays in step */
			*error_r = n < 0 ? errorf("read: %s", strerror(errno)) : "message file shrank";
			memset(buf, ' ', want);
			while (len > 0) {
				size_t k = len > want ? want : (size_t)len;

				imap_write(sess, buf, k);
				len -= k;
			}
			rc = STORE_IO_ERROR;
			break;
		}
		imap_write(sess, buf, (size_t)n);
		offset += (uint64_t)n;
		len -= (uint64_t)n;
	}
	free(buf);
	return rc;
}
