/*
 * imap_cmd_copy.c: COPY and UID COPY (RFC 3501 6.4.7, 6.4.8), MOVE and
 * UID MOVE (RFC 6851), with UIDPLUS's COPYUID (RFC 4315 3). The store
 * copies (new hard links, quota checked) and moves (rows only, the source
 * UIDs recorded as expunged for QRESYNC). A missing destination is
 * NO [TRYCREATE]; a full mailbox NO [OVERQUOTA].
 */
#include "imap_commands.h"

#include "imap_db.h"
#include "imap_view.h"

#include <stdlib.h>
#include <string.h>

static const struct db_stmt stmt_uidvalidity = {
    "imapd_folder_uidvalidity", "SELECT uidvalidity FROM folders WHERE id = $1"};

static void append_run(struct sbuf *out, bool comma, int64_t lo, int64_t hi)
{
	if (lo == hi)
		sbuf_appendf(out, "%s%lld", comma ? "," : "", (long long)lo);
	else
		sbuf_appendf(out, "%s%lld:%lld", comma ? "," : "", (long long)lo, (long long)hi);
}

/* "uidvalidity src-set dst-set" for a COPYUID code; the sets keep the pairs' order. */
static int copyuid_text(struct imap_session *sess, int64_t folder,
			const struct store_uid_pair *pairs, size_t n, struct sbuf *out,
			const char **error_r)
{
	char b1[IMAP_I64_BUFSZ];
	const char *params[1] = {imap_i64(b1, folder)};
	struct sbuf src = {0}, dst = {0};
	PGresult *res;
	int rc;

	rc = imap_query(sess->d, &stmt_uidvalidity, 1, params, &res, error_r);
	if (rc != STORE_OK)
		return rc;
	if (PQntuples(res) == 1)
		sbuf_appendf(out, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	/* RFC 4315 4: both sets list the pairs in the same order, each in ascending order
	 * (the store gives new UIDs in the order of the old ones), so each may be compressed */
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && pairs[j + 1].src_uid == pairs[j].src_uid + 1)
			j++;
		append_run(&src, i > 0, pairs[i].src_uid, pairs[j].src_uid);
		i = j + 1;
	}
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && pairs[j + 1].dst_uid == pairs[j].dst_uid + 1)
			j++;
		append_run(&dst, i > 0, pairs[i].dst_uid, pairs[j].dst_uid);
		i = j + 1;
	}
	sbuf_appendf(out, " %s %s", sbuf_str(&src), sbuf_str(&dst));
	sbuf_free(&src);
	sbuf_free(&dst);
	return STORE_OK;
}

static void copy_or_move(struct imap_session *sess, const struct imap_arg *args, size_t nargs,
			 bool move)
{
	const char *cmd = move ? "MOVE" : "COPY", *error = NULL;
	char name[STORE_FOLDER_NAME_MAX + 1];
	struct store_uid_pair *pairs = NULL;
	struct sbuf code = {0};
	int64_t *uids = NULL, dst;
	size_t *idx = NULL, n = 0, nuids = 0, npairs = 0;
	int rc;

	if (nargs != 2) {
		imap_tagged(sess, "BAD Syntax: %s sequence-set mailbox", cmd);
		return;
	}
	if (imap_view_resolve(sess, &args[0], sess->uid, &idx, &n, &error) < 0) {
		imap_tagged(sess, "BAD %s", error);
		return;
	}
	if (move && sess->view->readonly) {
		imap_tagged(sess, "NO [READ-ONLY] Mailbox is read-only");
		goto out;
	}
	if (imap_mailbox_name(sess, &args[1], name, &error) < 0) {
		imap_tagged(sess, "NO [TRYCREATE] %s", error);
		goto out;
	}
	rc = store_folder_find(sess->d->store, &sess->mailbox, name, &dst, &error);
	if (rc == STORE_NOT_FOUND) {
		/* RFC 3501 6.4.7: the client may CREATE it and try again */
		imap_tagged(sess, "NO [TRYCREATE] No such mailbox");
		goto out;
	}
	if (rc != STORE_OK) {
		imap_tagged_store_error(sess, rc, error);
		goto out;
	}
	if (move && dst == sess->view->folder_id) {
		imap_tagged(sess, "NO [CANNOT] The messages are in that mailbox already");
		goto out;
	}
	if (n > 0)
		uids = xmalloc(n * sizeof(*uids));
	for (size_t i = 0; i < n; i++) {
		if (!sess->view->msgs[idx[i]].expunged)
			uids[nuids++] = sess->view->msgs[idx[i]].uid;
	}
	if (nuids == 0) {
		if (n > 0 && !sess->uid)
			imap_tagged(sess, "NO [EXPUNGEISSUED] The messages were expunged");
		goto out;
	}
	if (move)
		rc = store_move(sess->d->store, &sess->mailbox, sess->view->folder_id, uids, nuids, dst,
				&pairs, &npairs, &error);
	else
		rc = store_copy(sess->d->store, &sess->mailbox, sess->view->folder_id, uids, nuids, dst,
				true, &pairs, &npairs, &error);
	if (rc != STORE_OK) {
		imap_tagged_store_error(sess, rc, error);
		goto out;
	}
	if (npairs > 0 && (rc = copyuid_text(sess, dst, pairs, npairs, &code, &error)) != STORE_OK) {
		/* done, only the code is missing: still a success */
		sbuf_reset(&code);
	}
	if (!move) {
		/* a copy into the selected mailbox: tell its new messages at once */
		if (dst == sess->view->folder_id)
			sess->view->resync = true;
		if (code.len > 0)
			imap_tagged(sess, "OK [COPYUID %s] COPY completed", sbuf_str(&code));
		goto out;
	}
	/* RFC 6851 4.3: COPYUID comes untagged, before the EXPUNGEs */
	if (code.len > 0)
		imap_untagged(sess, "OK [COPYUID %s] Moved", sbuf_str(&code));
	{
		int64_t *gone = xmalloc((npairs > 0 ? npairs : 1) * sizeof(*gone));

		for (size_t i = 0; i < npairs; i++)
			gone[i] = pairs[i].src_uid;
		imap_view_expunged(sess, gone, npairs, true);
		free(gone);
	}
out:
	sbuf_free(&code);
	free(pairs);
	free(uids);
	free(idx);
}

void imap_cmd_copy(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	copy_or_move(sess, args, nargs, false);
}

void imap_cmd_move(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	copy_or_move(sess, args, nargs, true);
}
