/*
 * imap_message.c: a stored message's bytes (see imap_message.h). Blob
 * names come from the index, never from the client, and are resolved by
 * the store (store_blob_path). A header read stops at the blank line, or
 * at the message header limit of lib/message.h. The session keeps the last
 * blob folder open (one fd) so a FETCH of thousands walks one name per file.
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
#include <unistd.h>

#define READ_CHUNK 65536

/*
 * The blob's folder (msg/YYYYMM) as an O_PATH fd, kept from the last message:
 * a FETCH of thousands looks up one name per file instead of the whole path.
 * -1 when the name does not fit the cache or the folder cannot be opened.
 */
static int blob_dirfd(struct imap_session *sess, const char *blob, const char *path)
{
	const char *slash = strrchr(blob, '/');
	size_t len = slash != NULL ? (size_t)(slash - blob) : 0;
	char dir[PATH_MAX];

	if (len == 0 || len >= sizeof(sess->blob_dir))
		return -1;
	if (sess->blob_dir[0] != '\0' && strncmp(sess->blob_dir, blob, len) == 0 &&
	    sess->blob_dir[len] == '\0')
		return sess->blob_dirfd;
	imap_msg_forget_dir(sess);
	/* path ends with blob: its folder is path less the file's name */
	snprintf(dir, sizeof(dir), "%.*s", (int)(strlen(path) - strlen(slash)), path);
	sess->blob_dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sess->blob_dirfd < 0)
		return -1;
	memcpy(sess->blob_dir, blob, len);
	sess->blob_dir[len] = '\0';
	return sess->blob_dirfd;
}

void imap_msg_forget_dir(struct imap_session *sess)
{
	if (sess->blob_dir[0] != '\0')
		close(sess->blob_dirfd);
	sess->blob_dir[0] = '\0';
}

int imap_msg_open(struct imap_session *sess, const char *blob, const char *prefix, uint64_t size,
		  struct imap_msg_file *f, const char **error_r)
{
	char path[PATH_MAX];
	int dirfd;

	f->fd = -1;
	f->prefix = prefix != NULL ? prefix : "";
	f->prefix_len = strlen(f->prefix);
	/* the index's size, which RFC822.SIZE says too: a literal always matches it */
	f->size = size;
	if (store_blob_path(sess->d->store, sess->mailbox.storage_dir, blob, path, sizeof(path)) < 0) {
		*error_r = "blob path too long";
		return STORE_IO_ERROR;
	}
	/* store_blob_path() checked blob: no "..", no empty level; its last one is a plain name */
	dirfd = blob_dirfd(sess, blob, path);
	if (dirfd >= 0) {
		f->fd = openat(dirfd, strrchr(blob, '/') + 1, O_RDONLY | O_CLOEXEC);
		if (f->fd < 0 && errno == ENOENT)
			imap_msg_forget_dir(sess); /* a folder made anew since: the whole path */
	}
	if (f->fd < 0)
		f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		int err = errno;

		*error_r = errorf("open %s: %s", path, strerror(err));
		return err == ENOENT ? STORE_NOT_FOUND : STORE_IO_ERROR;
	}
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
