/*
 * imap_view.h: the selected mailbox as one session sees it (RFC 3501
 * 2.3.1): its messages in sequence order with their UIDs and mod-sequences,
 * what the client has been told, and the changes others made since, sent
 * as untagged EXISTS, EXPUNGE (or VANISHED, RFC 7162) and FETCH FLAGS when
 * the protocol allows. The index itself stays in PostgreSQL: a view holds
 * 16 bytes per message and no database connection.
 */
#ifndef SLUICE_IMAP_VIEW_H
#define SLUICE_IMAP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imapd.h"
#include "imap_view_cache.h"

struct imap_view_msg {
	uint32_t uid;
	bool expunged; /* gone from the index, not yet told (no EXPUNGE allowed then) */
	bool recent;   /* \Recent for this session (RFC 3501 2.3.2) */
	int64_t modseq;
};

struct imap_view {
	int64_t folder_id;
	char name[STORE_FOLDER_NAME_MAX + 1];
	uint32_t uidvalidity, uidnext;
	int64_t highestmodseq; /* every change up to it is in the view */
	bool readonly;
	bool resync;  /* a sync failed: look again next time */
	bool deleted; /* the folder is gone */
	struct imap_view_msg *msgs;
	size_t count, cap;
	size_t nrecent; /* messages with recent set */
	size_t first_unseen; /* at open: sequence number of the first unseen message, 0 if none */
	char **keywords;     /* every keyword the client has been told of (FLAGS) */
	size_t nkeywords;
	/*
	 * The folder as the view opened it (imap_view_cache.h), kept while the
	 * view is still at that state: FETCH of flags, UIDs and sizes reads it.
	 * Dropped at the first change the session makes or hears of.
	 */
	struct imap_snapshot *snap;
};

/*
 * Select folder_id (of the session's mailbox) named `name`: load it, watch
 * it for changes, enter the selected state. A store status (STORE_NOT_FOUND
 * when the folder is gone).
 */
int imap_view_open(struct imap_session *sess, int64_t folder_id, const char *name, bool readonly,
		   const char **error_r);
/* Leave the selected state (nothing sent); accepts a session without a view. */
void imap_view_close(struct imap_session *sess);

/*
 * Send the changes of the selected folder: always when `force` (NOOP,
 * CHECK, IDLE), else only when a notification says there are some.
 * Without allow_expunge (during FETCH, STORE, SEARCH: RFC 3501 7.4.1)
 * expunged messages stay in the view until a later sync may tell.
 */
void imap_view_sync(struct imap_session *sess, bool allow_expunge, bool force);

/*
 * Messages this session expunged: drop them from the view, telling the
 * client (EXPUNGE or VANISHED) when `announce` (not at CLOSE).
 */
void imap_view_expunged(struct imap_session *sess, const int64_t *uids, size_t n, bool announce);

/*
 * The snapshot the view still matches message for message (NULL when it
 * changed since it was opened).
 */
const struct imap_snapshot *imap_view_snapshot(const struct imap_session *sess);
/* This session changed the folder (flags, expunges): stop answering from the snapshot. */
void imap_view_forget_snapshot(struct imap_session *sess);

/* The index of a UID in the view, or -1. */
ssize_t imap_view_find(const struct imap_view *v, uint32_t uid);
/* The largest UID in the view (0 when empty). */
uint32_t imap_view_max_uid(const struct imap_view *v);

/*
 * A sequence set argument (message numbers, or UIDs with `uid`; "$" is the
 * saved search result, RFC 5182) as sorted view indexes. Message numbers
 * past the end are an error (BAD); UIDs not in the view are skipped.
 * 0 or -1 with *error_r; *idx_r (free()) may be NULL when nothing matched.
 */
int imap_view_resolve(struct imap_session *sess, const struct imap_arg *arg, bool uid,
		      size_t **idx_r, size_t *n_r, const char **error_r);

/*
 * Append "(\Seen kw ...)" for store flags and space-separated keywords (may
 * be NULL), with \Recent when `recent`.
 */
void imap_flags_format(unsigned int flags, const char *keywords, bool recent, struct sbuf *out);
/*
 * Learn keywords (space-separated) the client may not know: when there is
 * a new one, send FLAGS and PERMANENTFLAGS again (RFC 3501 7.2.6).
 */
void imap_view_keywords_seen(struct imap_session *sess, const char *keywords);
/* The FLAGS and PERMANENTFLAGS responses. */
void imap_view_send_flags(struct imap_session *sess);
/* Write "* n FETCH (UID u FLAGS (...) [MODSEQ (m)])" for a change (STORE, sync). */
void imap_view_send_fetch_flags(struct imap_session *sess, size_t idx, unsigned int flags,
				const char *keywords, int64_t modseq, bool with_uid);

#endif
