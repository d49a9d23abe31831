/*
 * imap_notify.h: change notification for the sessions of one sluice-imapd
 * process. The store NOTIFYs "sluice_mailbox_<id>" with "<folder> <modseq>"
 * after every committed change (schema 0002), from any host sharing the
 * database. One thread holds one PostgreSQL connection that LISTENs to the
 * channels of the mailboxes that have sessions, and fans each notification
 * out to the sessions watching that folder: a flag they check between
 * commands, and an eventfd that wakes them in IDLE. A session holds no
 * database connection of its own while it waits.
 *
 * While the LISTEN connection is down (and just after a LISTEN starts),
 * every session is told its mailbox may have changed, so nothing is missed.
 */
#ifndef SLUICE_IMAP_NOTIFY_H
#define SLUICE_IMAP_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

struct db_pool_settings;
struct imap_notify;
struct imap_notify_sub;

/* Start the listener thread on its own connection (settings copied; size forced to 1). */
int imap_notify_create(const struct db_pool_settings *set, struct imap_notify **n_r,
		       const char **error_r);
/* Stop the thread and free; every subscription must be gone. Accepts NULL. */
void imap_notify_destroy(struct imap_notify **n);

/* Follow a mailbox's changes (a session after login). */
struct imap_notify_sub *imap_notify_subscribe(struct imap_notify *n, int64_t mailbox_id);
/* Stop following; accepts NULL. */
void imap_notify_unsubscribe(struct imap_notify *n, struct imap_notify_sub **sub);
/* The folder the session has selected (0: none): only its changes count. */
void imap_notify_watch(struct imap_notify *n, struct imap_notify_sub *sub, int64_t folder_id);
/*
 * Whether the watched folder may have changed since the last call (always
 * true while the LISTEN connection is down). Clears the flag.
 */
bool imap_notify_changed(struct imap_notify *n, struct imap_notify_sub *sub);
/* Whether notifications flow (the LISTEN connection is up). */
bool imap_notify_healthy(struct imap_notify *n);
/* An fd readable after a change of the watched folder (made on first use; -1 on failure). */
int imap_notify_fd(struct imap_notify *n, struct imap_notify_sub *sub);
/* Empty the fd after it became readable. */
void imap_notify_fd_drain(struct imap_notify_sub *sub);

#endif
