/*
 * queue_msg.h: reading a queue file and updating it in place.
 *
 * sluice-qmgr opens a message, reads its envelope (with each recipient's
 * state), streams its content to the delivery agent, and records each
 * recipient's fate by rewriting fixed-width fields (status and DSN code per
 * recipient; attempts, next attempt and flags per message) with pwrite(),
 * followed by queue_msg_sync(). sluice-queue reads the same way, read-only.
 * The format is in docs/queue-format.md.
 */
#ifndef SLUICE_QUEUE_MSG_H
#define SLUICE_QUEUE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "queue_file.h"
#include "util.h"

/* A recipient's state, one letter in the file. */
enum queue_rcpt_status {
	QUEUE_RCPT_PENDING = 'P',   /* not tried yet */
	QUEUE_RCPT_DEFERRED = 'D',  /* tried, failed temporarily; will be retried */
	QUEUE_RCPT_SENT = 'S',      /* delivered (final) */
	QUEUE_RCPT_BOUNCED = 'B',   /* failed for good, DSN queued or not wanted (final) */
	QUEUE_RCPT_FAILED = 'F',    /* failed for good, a failure DSN is still owed */
	QUEUE_RCPT_DELIVERED = 'N', /* delivered, a success DSN (NOTIFY=SUCCESS) is still owed */
};

/* "5.123.456" and its NUL. */
#define QUEUE_DSN_BUFSZ 10

/* Message flags in the state field. */
enum queue_msg_flag {
	QUEUE_FLAG_NONE = '-',
	QUEUE_FLAG_WARNED = 'W', /* a delay DSN was queued */
};

struct queue_msg_rcpt {
	char *address;
	char *orig_rcpt; /* NULL when none */
	char *given;     /* NULL when none */
	unsigned int notify;
	bool local;
	char status;               /* enum queue_rcpt_status */
	char dsn[QUEUE_DSN_BUFSZ]; /* "" when none yet */
	off_t status_offset;       /* where the status letter is in the file */
};

struct queue_msg {
	char id[QUEUE_ID_BUFSZ];
	char *sender; /* "" for the null sender */
	char *envid;  /* NULL when none */
	enum queue_ret ret;
	enum queue_body body;
	bool smtputf8;
	char *auth_user, *client_ip, *client_helo, *origin; /* auth, helo: NULL when none */
	int64_t arrival_ms;
	unsigned int attempts;
	int64_t next_attempt; /* Unix seconds; 0: as soon as possible */
	char flag;            /* enum queue_msg_flag */
	uint64_t size;        /* content bytes */
	off_t data_offset;    /* where the content starts */
	struct queue_msg_rcpt *rcpts;
	size_t rcpt_count;
	int fd;
	off_t state_offset;
};

/* True for the final states (S, B); F and N are final for delivery but owe a DSN. */
bool queue_rcpt_status_final(char status);
/* True for P and D: still to be delivered. */
bool queue_rcpt_status_pending(char status);
/* "pending", "deferred", "sent", "bounced", "failed", "delivered". */
const char *queue_rcpt_status_name(char status);

/*
 * Open and parse a queue file. writable: open it read-write, for the
 * in-place updates. A file that does not parse, or whose length does not
 * match its size field, is an error (the message is damaged).
 */
int queue_msg_open(const char *path, bool writable, struct queue_msg **msg_r, const char **error_r);
void queue_msg_free(struct queue_msg **msg);

/* Rewrite recipient i's status and DSN code (NULL or "": keep the code). */
int queue_msg_set_rcpt(struct queue_msg *msg, size_t i, char status, const char *dsn,
                       const char **error_r);
/* Rewrite the message state: attempts, next attempt (Unix s), flag. */
int queue_msg_set_state(struct queue_msg *msg, unsigned int attempts, int64_t next_attempt,
                        char flag, const char **error_r);
/* Make the rewrites durable (fdatasync). */
int queue_msg_sync(struct queue_msg *msg, const char **error_r);

/* Read up to len content bytes at content offset off; returns bytes read (0 at the end), -1. */
ssize_t queue_msg_read(struct queue_msg *msg, uint64_t off, void *buf, size_t len,
                       const char **error_r);
/*
 * The header block of the content (up to and including the blank line, or
 * all of it when there is none, at most max bytes) into out.
 */
int queue_msg_read_header(struct queue_msg *msg, size_t max, struct sbuf *out,
                          const char **error_r);

#endif
