/*
 * bounce_log.h: the per-message delivery log, bounce/<queue id>.log.
 *
 * One line per delivery attempt and recipient: the recipient's index in the
 * queue file, the time, the status letter, the DSN code and the diagnostic
 * (the LMTP server's reply, or ours). The last line of a recipient is its
 * last diagnostic: the DSN quotes it, and `sluice-queue show` prints it.
 * Written by sluice-qmgr only; removed with the message.
 */
#ifndef SLUICE_BOUNCE_LOG_H
#define SLUICE_BOUNCE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bounce_log_entry {
	size_t rcpt;      /* index of the recipient in the queue file */
	int64_t time;     /* Unix seconds */
	char status;      /* enum queue_rcpt_status letter */
	const char *dsn;  /* "5.1.1" */
	const char *text; /* the diagnostic, one line */
};

/* Append entries; with sync, fdatasync the log before returning. */
int bounce_log_append(const char *queue_dir, const char *id, const struct bounce_log_entry *entries,
                      size_t count, bool sync, const char **error_r);

/* A recipient's last entry as read back (strings on the heap). */
struct bounce_log_last {
	int64_t time; /* 0: no entry */
	char status;
	char *dsn;
	char *text;
};

/*
 * Read the log of message id: last_r becomes an array of rcpt_count entries
 * (zeroed for recipients without one). A missing log is no error; damaged
 * lines (a crash while appending) are skipped.
 */
int bounce_log_read(const char *queue_dir, const char *id, size_t rcpt_count,
                    struct bounce_log_last **last_r, const char **error_r);
void bounce_log_last_free(struct bounce_log_last **last, size_t rcpt_count);

/* Remove the log of a message (no error when there is none). */
void bounce_log_remove(const char *queue_dir, const char *id);

#endif
