/*
 * queue_file.h: the durable mail queue, one file per message.
 *
 * The seam between the programs that accept mail (sluice-smtpd, the local
 * injection socket, sluice-sendmail through maildrop/) and sluice-qmgr, which
 * delivers it. A message is written to tmp/, fsynced, renamed into incoming/
 * and the directory fsynced; only then may the writer tell its client 250.
 * After that the file is owned by sluice-qmgr, which moves it between
 * incoming/, active/, deferred/ and hold/ and records each recipient's fate
 * in the file itself, so a crash at any moment loses nothing (at worst a
 * recipient is delivered twice).
 *
 * Queue layout under queue_directory:
 *   tmp/       files being written (removed at start-up if older than a day)
 *   incoming/  complete, not yet seen by qmgr
 *   active/    being delivered by qmgr
 *   deferred/  waiting for a retry
 *   hold/      held by the administrator (sluice-queue hold)
 *   maildrop/  written by sluice-sendmail when the daemons are down (mode 1733)
 *   bounce/    per-message delivery logs (<queue id>.log) kept for DSNs
 *
 * The folders are made by queue_dirs_init() (queue_dir.h), which sluice-qmgr
 * runs at start-up; the writer expects them. The on-disk format is
 * documented in docs/queue-format.md.
 */
#ifndef SLUICE_QUEUE_FILE_H
#define SLUICE_QUEUE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A queue id: 16 characters [0-9A-Z], time-ordered, unique across hosts sharing nothing. */
#define QUEUE_ID_LEN 16
#define QUEUE_ID_BUFSZ (QUEUE_ID_LEN + 1)

/* RFC 3461 NOTIFY bits; none set means the default (FAILURE, DELAY at our discretion). */
enum queue_notify {
	QUEUE_NOTIFY_NEVER = 1 << 0,
	QUEUE_NOTIFY_SUCCESS = 1 << 1,
	QUEUE_NOTIFY_FAILURE = 1 << 2,
	QUEUE_NOTIFY_DELAY = 1 << 3,
};

enum queue_ret { QUEUE_RET_DEFAULT, QUEUE_RET_FULL, QUEUE_RET_HDRS };

enum queue_body { QUEUE_BODY_7BIT, QUEUE_BODY_8BITMIME, QUEUE_BODY_BINARYMIME };

/* What the writer knows about the message before its content. */
struct queue_envelope {
	const char *sender;      /* MAIL FROM address, "" for the null sender <> */
	const char *envid;       /* RFC 3461 ENVID (decoded), or NULL */
	enum queue_ret ret;      /* RFC 3461 RET */
	enum queue_body body;    /* BODY= */
	int smtputf8;            /* SMTPUTF8 was given */
	const char *auth_user;   /* authenticated submitter, or NULL */
	const char *client_ip;   /* "127.0.0.1", or "local" for sendmail / injection socket */
	const char *client_helo; /* HELO/EHLO name, or NULL */
	const char *origin;      /* "smtpd", "submission", "sendmail", "inject", "bounce" */
	int64_t arrival;         /* Unix time (seconds) the message arrived; 0: now (kept in ms) */
};

/*
 * A recipient as queued: the final address after alias expansion (decided
 * once, by the writer), the address the client gave (for DSN Original-
 * Recipient and logs), and the DSN parameters.
 */
struct queue_recipient {
	const char *address;   /* final delivery address */
	const char *orig_rcpt; /* RFC 3461 ORCPT ("rfc822;addr"), or NULL */
	const char *given;     /* the RCPT TO address before alias expansion, or NULL */
	unsigned int notify;   /* enum queue_notify bits */
	int local;             /* 1: deliver over LMTP; 0: remote (SMTP relay) */
};

struct queue_writer;

/* Start a message in queue_dir/tmp with its envelope. */
int queue_writer_begin(const char *queue_dir, const struct queue_envelope *env,
                       struct queue_writer **writer_r, const char **error_r);
/* Add a recipient; all recipients come before the first content byte. */
int queue_writer_add_recipient(struct queue_writer *writer, const struct queue_recipient *rcpt,
                               const char **error_r);
/* Append content bytes (the message as it will be delivered, CRLF line ends, no dot-stuffing). */
int queue_writer_write(struct queue_writer *writer, const void *data, size_t len,
                       const char **error_r);
/* Bytes of content written so far. */
uint64_t queue_writer_size(const struct queue_writer *writer);
/* The id this message will have (known from queue_writer_begin on). */
const char *queue_writer_id(const struct queue_writer *writer);
/*
 * Make the message durable: fsync the file, rename it into incoming/, fsync
 * the directory; the rename wakes sluice-qmgr (it watches incoming/ with
 * inotify), so there is nothing else to signal. Returns 0 only when all of
 * that succeeded: then, and only then, the caller may acknowledge the
 * message. On failure the message is removed and the caller answers with a
 * temporary error (4xx). The writer is freed either way.
 */
int queue_writer_commit(struct queue_writer **writer, const char **error_r);
/* Throw the message away (client went away, message refused). */
void queue_writer_abort(struct queue_writer **writer);

#endif
