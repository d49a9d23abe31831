/*
 * imap_qresync.h: quick resynchronization (RFC 7162 3.2): what a client
 * that remembers a mailbox's UIDVALIDITY and HIGHESTMODSEQ missed, from
 * the expunged_messages table and the messages' mod-sequences.
 */
#ifndef SLUICE_IMAP_QRESYNC_H
#define SLUICE_IMAP_QRESYNC_H

#include "imapd.h"

/*
 * UID FETCH ... (CHANGEDSINCE n VANISHED), RFC 7162 3.2.6: send
 * "* VANISHED (EARLIER) uids" for the UIDs of the set expunged since n.
 */
int imap_fetch_vanished(struct imap_session *sess, const struct imap_arg *set_arg, int64_t since,
			const char **error_r);

/*
 * The QRESYNC parameter of SELECT/EXAMINE, "(uidvalidity modseq
 * [known-uids [(seq-match)]])" (RFC 7162 3.2.5): -1 when malformed.
 */
struct imap_qresync_param {
	uint32_t uidvalidity;
	int64_t modseq;
	struct imap_seqset known; /* empty: every UID */
};
int imap_qresync_parse(const struct imap_arg *list, struct imap_qresync_param *q);
/* After the SELECT responses: VANISHED (EARLIER) and FETCH for what changed since. */
int imap_qresync_select(struct imap_session *sess, const struct imap_qresync_param *q,
			const char **error_r);

#endif
