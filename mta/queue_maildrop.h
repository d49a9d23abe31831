/*
 * queue_maildrop.h: maildrop/ files, the hand-off from sluice-sendmail
 * (running as any local user, with or without the daemons) to sluice-qmgr.
 *
 * sluice-sendmail writes maildrop/.tmp.<name>, fsyncs it and renames it to
 * maildrop/<name>; the rename wakes qmgr (inotify). The folder is mode 1733:
 * users can create files but not list or touch other users' files. qmgr
 * reads such a file as untrusted input (bounded, strict), records the
 * owner's uid, and turns it into a real queue file with the queue writer.
 * The format is in docs/queue-format.md.
 */
#ifndef SLUICE_QUEUE_MAILDROP_H
#define SLUICE_QUEUE_MAILDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "queue_file.h"

#define MAILDROP_MAGIC "SLUICE-MAILDROP 1\n"
/* Longest envelope line a maildrop file may have. */
#define MAILDROP_LINE_MAX 2048

/* What sluice-sendmail knows about the message. */
struct maildrop_envelope {
	const char *sender;   /* -f; NULL when not given ("" for -f '<>') */
	const char *fullname; /* -F; NULL when not given */
	const char *const *rcpts;
	size_t rcpt_count;
	unsigned int notify; /* -N, enum queue_notify bits (0: default) */
	enum queue_ret ret;  /* -R */
	const char *envid;   /* -V; NULL when not given */
};

struct maildrop_writer;

/* Create maildrop/.tmp.<name> with the envelope. */
int maildrop_writer_begin(const char *queue_dir, const struct maildrop_envelope *env,
                          struct maildrop_writer **w_r, const char **error_r);
/* Append content (CRLF line ends). */
int maildrop_writer_write(struct maildrop_writer *w, const void *data, size_t len,
                          const char **error_r);
uint64_t maildrop_writer_size(const struct maildrop_writer *w);
/* Fill in the size, fsync, rename to maildrop/<name> (fsync the folder when we may). */
int maildrop_writer_commit(struct maildrop_writer **w, const char **error_r);
void maildrop_writer_abort(struct maildrop_writer **w);

/* A maildrop file as qmgr reads it. */
struct maildrop_file {
	char *sender; /* NULL when -f was not given */
	char *fullname;
	char **rcpts;
	size_t rcpt_count;
	unsigned int notify;
	enum queue_ret ret;
	char *envid;
	uint64_t size;
	off_t data_offset;
	uid_t uid;    /* the owner: who submitted it */
	time_t mtime; /* when it was written */
	int fd;
};

/* True for a finished file's name (temporary names start with a dot). */
bool maildrop_name_valid(const char *name);
/*
 * Open and check maildrop/<name>: a regular file with one link, a valid
 * envelope, at most max_rcpts recipients and max_size bytes of content.
 */
int maildrop_open(const char *queue_dir, const char *name, uint64_t max_size,
                  unsigned int max_rcpts, struct maildrop_file **f_r, const char **error_r);
ssize_t maildrop_read(struct maildrop_file *f, uint64_t off, void *buf, size_t len,
                      const char **error_r);
void maildrop_free(struct maildrop_file **f);

#endif
