/*
 * store_msg.c: a message on its way into the store. Its bytes go to a new
 * file in mail_root/tmp through a write buffer; finishing flushes and
 * fsyncs it (the durable copy every hard link will share), maps it
 * read-only and computes what the index caches (imap_envelope.h: ENVELOPE,
 * BODYSTRUCTURE, preview, the header fields clients list).
 *
 * Owns the temporary file: store_msg_free() unlinks it, so only a crash
 * leaves one behind (store check removes those). Write failures keep their
 * errno so a full disk is told apart from other failures.
 */
#include "imap_envelope.h"
#include "log.h"
#include "mime.h"
#include "store_private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define WRITE_BUFFER (64 * 1024)

struct store_msg {
	struct store *st;
	char path[PATH_MAX];
	int fd;
	char *buf;
	size_t buffered;
	int64_t size;
	bool finished;
	int write_errno; /* a failed write sticks */
	char *map;
	struct sbuf envelope, bodystructure, preview;
	struct sbuf header_fields; /* the cached fields (imap_header_cache) */
	bool have_header_fields;
};

int store_msg_begin(struct store *st, struct store_msg **msg_r, const char **error_r)
{
	struct store_msg *msg;
	char name[STORE_BLOB_MAX];
	int err;

	msg = xcalloc(1, sizeof(*msg));
	msg->st = st;
	store_blob_name(time(NULL), name);
	/* "msg/YYYYMM/<unique>": only the unique last part is used here */
	snprintf(msg->path, sizeof(msg->path), "%s/" STORE_TMP_DIR "/%s", st->mail_root,
	         strrchr(name, '/') + 1);
	msg->fd = open(msg->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (msg->fd < 0 && errno == ENOENT) {
		int rc = store_mkdirs(st, STORE_TMP_DIR, error_r);

		if (rc != STORE_OK) {
			free(msg);
			return rc;
		}
		msg->fd = open(msg->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (msg->fd < 0) {
		err = errno;
		*error_r = errorf("create %s: %s", msg->path, strerror(err));
		free(msg);
		return store_errno_status(err);
	}
	msg->buf = xmalloc(WRITE_BUFFER);
	*msg_r = msg;
	return STORE_OK;
}

static int flush_buffer(struct store_msg *msg)
{
	size_t off = 0;

	while (off < msg->buffered) {
		ssize_t n = write(msg->fd, msg->buf + off, msg->buffered - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			msg->write_errno = errno;
			return -1;
		}
		off += (size_t)n;
	}
	msg->buffered = 0;
	return 0;
}

int store_msg_write(struct store_msg *msg, const void *data, size_t len, const char **error_r)
{
	const char *p = data;

	if (msg->finished)
		log_panic("store_msg_write after finish");
	while (len > 0 && msg->write_errno == 0) {
		size_t n = WRITE_BUFFER - msg->buffered;

		if (n > len)
			n = len;
		memcpy(msg->buf + msg->buffered, p, n);
		msg->buffered += n;
		msg->size += (int64_t)n;
		p += n;
		len -= n;
		if (msg->buffered == WRITE_BUFFER)
			flush_buffer(msg);
	}
	if (msg->write_errno != 0) {
		*error_r = errorf("write %s: %s", msg->path, strerror(msg->write_errno));
		return store_errno_status(msg->write_errno);
	}
	return STORE_OK;
}

/* The cached IMAP data; a message whose MIME headers break the limits gets none. */
static void compute_cache(struct store_msg *msg)
{
	struct message_limits limits;
	struct mime_part *root = NULL;
	const char *error;

	message_limits_default(&limits);
	if (mime_parse(msg->map != NULL ? msg->map : "", (size_t)msg->size, &limits, &root,
	               &error) < 0) {
		log_info("store: no IMAP cache for a message: %s", error);
		return;
	}
	imap_envelope(&root->header, &msg->envelope);
	imap_bodystructure(root, msg->map != NULL ? msg->map : "", true, &msg->bodystructure);
	imap_preview(root, msg->map != NULL ? msg->map : "", IMAP_PREVIEW_MAX_CHARS, &msg->preview);
	mime_part_free(&root);
	msg->have_header_fields =
	    imap_header_cache(msg->map != NULL ? msg->map : "", (size_t)msg->size, &msg->header_fields);
}

int store_msg_finish(struct store_msg *msg, const char **error_r)
{
	int err;

	if (msg->finished)
		return STORE_OK;
	if (msg->write_errno == 0)
		flush_buffer(msg);
	if (msg->write_errno == 0 && fsync(msg->fd) < 0)
		msg->write_errno = errno;
	if (msg->write_errno != 0) {
		err = msg->write_errno;
		*error_r = errorf("write %s: %s", msg->path, strerror(err));
		return store_errno_status(err);
	}
	free(msg->buf);
	msg->buf = NULL;
	msg->finished = true;
	if (msg->size > 0) {
		int rfd = open(msg->path, O_RDONLY | O_CLOEXEC);

		if (rfd < 0) {
			err = errno;
			*error_r = errorf("open %s: %s", msg->path, strerror(err));
			return store_errno_status(err);
		}
		msg->map = mmap(NULL, (size_t)msg->size, PROT_READ, MAP_PRIVATE, rfd, 0);
		err = errno;
		close(rfd);
		if (msg->map == MAP_FAILED) {
			msg->map = NULL;
			*error_r = errorf("mmap %s: %s", msg->path, strerror(err));
			return STORE_IO_ERROR;
		}
	}
	compute_cache(msg);
	return STORE_OK;
}

const char *store_msg_data(const struct store_msg *msg, size_t *len_r)
{
	*len_r = (size_t)msg->size;
	return msg->map != NULL ? msg->map : "";
}

int64_t store_msg_size(const struct store_msg *msg)
{
	return msg->size;
}

const char *store_msg_tmp_path(const struct store_msg *msg)
{
	return msg->path;
}

const char *store_msg_envelope(const struct store_msg *msg)
{
	return msg->envelope.len > 0 ? msg->envelope.data : NULL;
}

const char *store_msg_bodystructure(const struct store_msg *msg)
{
	return msg->bodystructure.len > 0 ? msg->bodystructure.data : NULL;
}

const char *store_msg_preview(const struct store_msg *msg)
{
	return msg->envelope.len > 0 ? sbuf_str(&msg->preview) : NULL;
}

const char *store_msg_header_fields(const struct store_msg *msg)
{
	return msg->have_header_fields ? sbuf_str(&msg->header_fields) : NULL;
}

void store_msg_free(struct store_msg **msgp)
{
	struct store_msg *msg = *msgp;

	if (msg == NULL)
		return;
	*msgp = NULL;
	if (msg->map != NULL)
		munmap(msg->map, (size_t)msg->size);
	if (msg->fd >= 0)
		close(msg->fd);
	if (unlink(msg->path) < 0 && errno != ENOENT)
		log_warn("store: unlink %s: %s", msg->path, strerror(errno));
	free(msg->buf);
	sbuf_free(&msg->envelope);
	sbuf_free(&msg->bodystructure);
	sbuf_free(&msg->preview);
	sbuf_free(&msg->header_fields);
	free(msg);
}
