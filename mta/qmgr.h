/*
 * qmgr.h: the parts of sluice-qmgr and how they meet (private to qmgr_*.c).
 *
 *   qmgr_main.c      start-up, the queue lock, inotify, signals, the main loop
 *   qmgr_schedule.c  the ready list, the retry heap and the delivery threads
 *   qmgr_deliver.c   one delivery attempt of one message (LMTP, results, state)
 *   qmgr_notify.c    which DSNs a message owes, and queueing them
 *   qmgr_resolve.c   alias expansion of addresses qmgr queues mail to itself
 *   qmgr_pickup.c    maildrop/ files from sluice-sendmail become queue files
 *
 * struct qmgr is made by main before any thread starts; its settings are
 * replaced only under settings_lock (SIGHUP), and threads take a copy.
 */
#ifndef SLUICE_QMGR_H
#define SLUICE_QMGR_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue_file.h"
#include "queue_msg.h"
#include "recipient.h"

struct config;
struct db_pool;
struct lmtp_client;
struct qmgr_sched;

struct qmgr_settings {
	char *queue_dir;
	char *hostname;
	char *lmtp_socket;
	char *postmaster; /* qualified */
	char *sendmail_domain;
	char *delimiters;
	unsigned int lmtp_connections;
	unsigned int lmtp_max_reuse;
	unsigned int lmtp_recipient_limit;
	unsigned int active_limit;
	unsigned int sendmail_max_recipients;
	int64_t lmtp_connect_timeout_ms, lmtp_timeout_ms, lmtp_data_timeout_ms,
	    lmtp_idle_timeout_ms;
	int64_t first_retry_ms, max_retry_ms;
	int64_t queue_lifetime_ms, bounce_lifetime_ms, delay_warning_ms;
	int64_t rescan_interval_ms;
	uint64_t bounce_size_limit;
	uint64_t sendmail_max_size;
};

struct qmgr {
	pthread_mutex_t settings_lock;
	struct qmgr_settings set; /* read through qmgr_settings_copy() */
	unsigned int generation;  /* bumped when set is replaced */
	struct db_pool *pool;
	struct qmgr_sched *sched;
	volatile int stopping;
};

/* Fill settings from a configuration (strings copied); -1 with *error_r when inconsistent. */
int qmgr_settings_load(struct qmgr_settings *set, const struct config *cfg, const char **error_r);
/* A thread's own copy of the current settings and their generation. */
unsigned int qmgr_settings_copy(struct qmgr *q, struct qmgr_settings *dst);
/* The generation of the current settings (cheap: compare before copying). */
unsigned int qmgr_settings_generation(struct qmgr *q);
void qmgr_settings_free(struct qmgr_settings *set);

/* --- qmgr_deliver.c --- */
enum qmgr_outcome {
	QMGR_DONE,     /* the message is gone from the queue: every recipient final */
	QMGR_DEFERRED, /* back in deferred/, retry at *next_r */
	QMGR_GONE,     /* no longer ours (held, deleted or damaged) */
};
/* One attempt at active/<id>; from_deferred: it came from the retry heap. */
enum qmgr_outcome qmgr_deliver(struct qmgr *q, const struct qmgr_settings *set,
                               struct lmtp_client *lmtp, const char *id, bool from_deferred,
                               int64_t *next_r);
/* The wait before attempt number `attempts` + 1, in seconds. */
int64_t qmgr_backoff_s(const struct qmgr_settings *set, unsigned int attempts);

/* --- qmgr_notify.c --- */
/*
 * Queue the DSNs msg owes: failure reports for F recipients, success
 * reports for N recipients, a delay report (delay_rcpts, when n_delay > 0).
 * On success the statuses become B and S in memory (and in the file, not
 * yet synced); the caller syncs. Returns 0, or -1 when a report could not be
 * queued now (database down): the caller keeps the message and retries.
 */
int qmgr_notify(struct qmgr *q, const struct qmgr_settings *set, struct queue_msg *msg,
                const size_t *delay_rcpts, size_t n_delay, const char **error_r);

/* --- qmgr_resolve.c --- */
struct qmgr_dest {
	char address[ADDR_BUFSZ];
	bool local;
};
struct qmgr_dest_list {
	struct qmgr_dest *items;
	size_t count;
};
/*
 * Expand an address (qualified, "local@domain") into its final destinations
 * with recipient_resolve(). A mailbox is local; a remote or backup-MX domain
 * is remote; an unknown or disabled address of ours stays as it is, local,
 * so that sluice-lmtpd refuses it and the sender hears why. Returns 0, or -1
 * (temporary: the database could not answer) with *error_r.
 */
int qmgr_resolve(struct qmgr *q, const struct qmgr_settings *set, const char *address,
                 unsigned int max_dests, struct qmgr_dest_list *out, const char **error_r);
void qmgr_dest_list_free(struct qmgr_dest_list *list);

/* --- qmgr_pickup.c --- */
/* Convert every complete file in maildrop/ into a queue file; clean stale temporaries. */
void qmgr_pickup_run(struct qmgr *q);

/* --- qmgr_schedule.c --- */
struct qmgr_sched *qmgr_sched_create(struct qmgr *q);
/* Start-up: active/ (left by a crash) is delivered at once, deferred/ by its times. */
void qmgr_sched_load(struct qmgr_sched *s);
/* Start the delivery threads. */
void qmgr_sched_start(struct qmgr_sched *s);
/* A name appeared in incoming/: take it (unless the active limit is reached). */
void qmgr_sched_incoming(struct qmgr_sched *s, const char *name);
/* List incoming/ and take what is there. */
void qmgr_sched_scan_incoming(struct qmgr_sched *s);
/* Move due messages from deferred/ to work; returns when to call again (monotonic ms). */
int64_t qmgr_sched_timers(struct qmgr_sched *s);
/* An fd that becomes readable when the main loop should run (timers changed, backlog). */
int qmgr_sched_wake_fd(const struct qmgr_sched *s);
/* Consume the wake-ups; true when incoming/ should be listed again (a backlog drained). */
bool qmgr_sched_woken(struct qmgr_sched *s);
/* Stop: threads finish the message they deliver and exit; then free. */
void qmgr_sched_destroy(struct qmgr_sched **s);

#endif
