/*
 * imap_cmd_expunge.c: EXPUNGE (RFC 3501 6.4.3), UID EXPUNGE (RFC 4315
 * 2.1) and the silent expunge of CLOSE: the messages with \Deleted that
 * the client knows of (the view's, optionally within a UID set) are
 * removed through the store, which records their UIDs for QRESYNC.
 */
#include "imap_commands.h"

#include "imap_db.h"
#include "imap_view.h"

#include <stdlib.h>

static const struct db_stmt stmt_deleted = {
    "imapd_expunge_deleted",
    "SELECT uid FROM messages WHERE folder_id = $1 AND flags & 8 <> 0 ORDER BY uid"};

int imap_expunge_deleted(struct imap_session *sess, const struct imap_seqset *only, bool announce)
{
	struct imap_view *v = sess->view;
	char b1[IMAP_I64_BUFSZ];
	const char *params[1] = {imap_i64(b1, v->folder_id)}, *error = NULL;
	int64_t *uids = NULL, *gone = NULL;
	size_t n = 0, ngone = 0;
	PGresult *res;
	int rc;

	rc = imap_query(sess->d, &stmt_deleted, 1, params, &res, &error);
	if (rc != STORE_OK) {
		imap_tagged_store_error(sess, rc, error);
		return -1;
	}
	if (PQntuples(res) > 0)
		uids = xmalloc((size_t)PQntuples(res) * sizeof(*uids));
	for (int r = 0; r < PQntuples(res); r++) {
		int64_t uid = imap_col_i64(res, r, 0);
		ssize_t i = imap_view_find(v, (uint32_t)uid);

		/* only messages the client knows of, and within the UID set if given */
		if (i < 0 || v->msgs[i].expunged ||
		    (only != NULL && !imap_seqset_contains(only, (uint32_t)uid)))
			continue;
		uids[n++] = uid;
	}
	PQclear(res);
	if (n > 0) {
		rc = store_expunge(sess->d->store, &sess->mailbox, v->folder_id, uids, n, &gone,
				   &ngone, &error);
		if (rc != STORE_OK) {
			free(uids);
			imap_tagged_store_error(sess, rc, error);
			return -1;
		}
		imap_view_expunged(sess, gone, ngone, announce);
	}
	free(uids);
	free(gone);
	return 0;
}

void imap_cmd_expunge(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	struct imap_seqset set = {0};

	if (sess->uid ? nargs != 1 : nargs != 0) {
		imap_tagged(sess, "BAD Syntax: EXPUNGE, or UID EXPUNGE sequence-set");
		return;
	}
	if (sess->view->readonly) {
		imap_tagged(sess, "NO [READ-ONLY] Mailbox is read-only");
		return;
	}
	if (sess->uid) {
		size_t *idx, n;
		const char *error;

		if (imap_view_resolve(sess, &args[0], true, &idx, &n, &error) < 0) {
			imap_tagged(sess, "BAD %s", error);
			return;
		}
		for (size_t i = 0; i < n; i++)
			imap_seqset_add(&set, sess->view->msgs[idx[i]].uid, sess->view->msgs[idx[i]].uid);
		imap_seqset_normalize(&set);
		free(idx);
		if (n == 0) {
			imap_tagged(sess, "OK UID EXPUNGE completed");
			return;
		}
	}
	if (imap_expunge_deleted(sess, sess->uid ? &set : NULL, true) == 0)
		imap_tagged(sess, "OK %sEXPUNGE completed", sess->uid ? "UID " : "");
	imap_seqset_clear(&set);
}
