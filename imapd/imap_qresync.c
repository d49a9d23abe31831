/*
 * imap_qresync.c: QRESYNC's catch-up answers (see imap_qresync.h): the
 * UIDs expunged since a mod-sequence come from expunged_messages (the
 * store records every expunge and move there, schema 0002), the flag
 * changes from the messages' own mod-sequences.
 */
#include "imap_qresync.h"

#include "imap_db.h"
#include "imap_view.h"

#include <stdlib.h>
#include <string.h>

static const struct db_stmt stmt_vanished = {
    "imapd_vanished",
    "SELECT uid FROM expunged_messages WHERE folder_id = $1 AND modseq > $2 ORDER BY uid"};
static const struct db_stmt stmt_changed = {
    "imapd_changed_since",
    "SELECT uid, flags, array_to_string(keywords, ' '), modseq FROM messages"
    " WHERE folder_id = $1 AND modseq > $2 ORDER BY uid"};

/* "* VANISHED (EARLIER) ..." for the expunged UIDs since `since` within set (NULL: all). */
static int send_vanished(struct imap_session *sess, const struct imap_seqset *set, int64_t since,
			 const char **error_r)
{
	char b1[IMAP_I64_BUFSZ], b2[IMAP_I64_BUFSZ];
	const char *params[2] = {imap_i64(b1, sess->view->folder_id), imap_i64(b2, since)};
	struct imap_seqset gone = {0};
	PGresult *res;
	int rc;

	rc = imap_query(sess->d, &stmt_vanished, 2, params, &res, error_r);
	if (rc != STORE_OK)
		return rc;
	for (int r = 0; r < PQntuples(res); r++) {
		uint32_t uid = (uint32_t)imap_col_i64(res, r, 0);

		if (set == NULL || set->n == 0 || imap_seqset_contains(set, uid))
			imap_seqset_add(&gone, uid, uid);
	}
	PQclear(res);
	if (gone.n > 0) {
		struct sbuf text = {0};

		imap_seqset_normalize(&gone);
		imap_seqset_format(&gone, &text);
		imap_untagged(sess, "VANISHED (EARLIER) %s", sbuf_str(&text));
		sbuf_free(&text);
	}
	imap_seqset_clear(&gone);
	return STORE_OK;
}

int imap_fetch_vanished(struct imap_session *sess, const struct imap_arg *set_arg, int64_t since,
			const char **error_r)
{
	struct imap_seqset set = {0};
	int rc;

	if (set_arg->len == 1 && set_arg->str[0] == '$') {
		imap_seqset_copy(&set, &sess->saved);
	} else if (imap_seqset_parse(set_arg->str, set_arg->len,
				     sess->view->uidnext > 1 ? sess->view->uidnext - 1 : 1, &set) < 0) {
		*error_r = "invalid sequence set";
		return STORE_INVALID;
	}
	rc = set.n > 0 ? send_vanished(sess, &set, since, error_r) : STORE_OK;
	imap_seqset_clear(&set);
	return rc;
}

int imap_qresync_parse(const struct imap_arg *list, struct imap_qresync_param *q)
{
	int64_t v;

	memset(q, 0, sizeof(*q));
	if (list->type != IMAP_ARG_LIST || list->count < 2 || list->count > 4)
		return -1;
	v = imap_arg_number(&list->list[0], UINT32_MAX);
	if (v <= 0)
		return -1;
	q->uidvalidity = (uint32_t)v;
	q->modseq = imap_arg_number(&list->list[1], INT64_MAX);
	if (q->modseq <= 0)
		return -1;
	if (list->count >= 3) {
		const struct imap_arg *k = &list->list[2];

		if (k->type != IMAP_ARG_ATOM ||
		    imap_seqset_parse(k->str, k->len, UINT32_MAX, &q->known) < 0)
			return -1;
	}
	/* the sequence match data only narrows what to look at: checked, not needed */
	if (list->count == 4 && (list->list[3].type != IMAP_ARG_LIST || list->list[3].count != 2))
		return -1;
	return 0;
}

int imap_qresync_select(struct imap_session *sess, const struct imap_qresync_param *q,
			const char **error_r)
{
	struct imap_view *v = sess->view;
	char b1[IMAP_I64_BUFSZ], b2[IMAP_I64_BUFSZ];
	const char *params[2];
	PGresult *res;
	int rc;

	/* RFC 7162 3.2.5.1: another UIDVALIDITY means a full resynchronization */
	if (q->uidvalidity != v->uidvalidity)
		return STORE_OK;
	rc = send_vanished(sess, &q->known, q->modseq, error_r);
	if (rc != STORE_OK)
		return rc;
	params[0] = imap_i64(b1, v->folder_id);
	params[1] = imap_i64(b2, q->modseq);
	rc = imap_query(sess->d, &stmt_changed, 2, params, &res, error_r);
	if (rc != STORE_OK)
		return rc;
	for (int r = 0; r < PQntuples(res); r++) {
		uint32_t uid = (uint32_t)imap_col_i64(res, r, 0);
		ssize_t i = imap_view_find(v, uid);

		if (i < 0 || (q->known.n > 0 && !imap_seqset_contains(&q->known, uid)))
			continue;
		imap_view_keywords_seen(sess, PQgetvalue(res, r, 2));
		imap_view_send_fetch_flags(sess, (size_t)i, (unsigned int)imap_col_i64(res, r, 1),
					   PQgetvalue(res, r, 2), imap_col_i64(res, r, 3), true);
		if (v->msgs[i].modseq < imap_col_i64(res, r, 3))
			v->msgs[i].modseq = imap_col_i64(res, r, 3);
	}
	PQclear(res);
	return STORE_OK;
}
