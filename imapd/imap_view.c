/*
 * imap_view.c: the selected mailbox of a session (see imap_view.h).
 *
 * Loading reads the folder row and every message's UID, mod-sequence and
 * flags in one statement (one snapshot). Syncing asks, also in one
 * statement, for the folder row, the messages whose mod-sequence is above
 * the view's and the UIDs expunged above it (expunged_messages, schema
 * 0002): the store gives every change a new mod-sequence of its folder
 * under the folder's row lock, so commits come in mod-sequence order and
 * nothing is missed. The session's own STOREs are already in the view and
 * not told twice. Sync is skipped unless imap_notify says the folder
 * changed (or the caller forces it).
 */
#include "imap_view.h"

#include "imap_db.h"
#include "imap_notify.h"
#include "imap_view_cache.h"
#include "log.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * $1 folder, $2 mailbox, $3 whether this session claims the recent
 * messages: the folder's state, and the first recent UID (the claim stops
 * at this snapshot's UIDNEXT; a message delivered later is claimed by the
 * sync that first shows it).
 */
static const struct db_stmt stmt_state = {
    "imapd_view_state",
    "SELECT uidvalidity, uidnext, highestmodseq, CASE WHEN $3 AND first_recent_uid < uidnext"
    "  THEN sluice_store_claim_recent($1, uidnext) ELSE first_recent_uid END"
    " FROM folders WHERE id = $1 AND mailbox_id = $2"};

/*
 * $1 folder, $2 mailbox: the folder's state (kind 0), every message's UID,
 * flags and size (kind 1, read from the (folder_id, uid) key alone: schema
 * 0008) and the keywords of the few that have any (kind 2, through a
 * partial index), one snapshot, in no promised order.
 */
static const struct db_stmt stmt_load = {
    "imapd_view_load",
    "WITH f AS (SELECT uidvalidity, uidnext, highestmodseq FROM folders"
    "  WHERE id = $1 AND mailbox_id = $2)"
    " SELECT 0, uidvalidity, uidnext, highestmodseq, NULL FROM f"
    " UNION ALL"
    " SELECT 1, m.uid, m.flags, m.size, NULL FROM messages m"
    "  WHERE m.folder_id = $1 AND EXISTS (SELECT 1 FROM f)"
    " UNION ALL"
    " SELECT 2, m.uid, 0, 0, array_to_string(m.keywords, ' ') FROM messages m"
    "  WHERE m.folder_id = $1 AND m.keywords <> '{}' AND EXISTS (SELECT 1 FROM f)"};

/* $1 folder, $2 the view's mod-sequence, $3 claim the recent messages (as above). */
static const struct db_stmt stmt_sync = {
    "imapd_view_sync",
    "SELECT 0, f.uidnext, f.highestmodseq, 0, (CASE WHEN $3 AND f.first_recent_uid < f.uidnext"
    "  THEN sluice_store_claim_recent($1, f.uidnext) ELSE f.first_recent_uid END)::text"
    " FROM folders f WHERE f.id = $1"
    " UNION ALL"
    " SELECT 1, m.uid, m.modseq, m.flags, array_to_string(m.keywords, ' ')"
    " FROM messages m WHERE m.folder_id = $1 AND m.modseq > $2"
    " UNION ALL"
    " SELECT 2, x.uid, x.modseq, 0, NULL FROM expunged_messages x"
    " WHERE x.folder_id = $1 AND x.modseq > $2"
    " ORDER BY 1, 2"};

static void view_free(struct imap_view **vp)
{
	struct imap_view *v = *vp;

	if (v == NULL)
		return;
	*vp = NULL;
	for (size_t i = 0; i < v->nkeywords; i++)
		free(v->keywords[i]);
	free(v->keywords);
	free(v->msgs);
	free(v);
}

static void msgs_push(struct imap_view *v, uint32_t uid, int64_t modseq, bool recent)
{
	if (v->count == v->cap) {
		v->cap = v->cap == 0 ? 64 : v->cap * 2;
		v->msgs = xrealloc(v->msgs, v->cap * sizeof(*v->msgs));
	}
	v->msgs[v->count].uid = uid;
	v->msgs[v->count].expunged = false;
	v->msgs[v->count].recent = recent;
	v->msgs[v->count].modseq = modseq;
	v->count++;
	if (recent)
		v->nrecent++;
}

static int snapshot_msg_cmp(const void *a, const void *b)
{
	const struct imap_snapshot_msg *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

_Static_assert(offsetof(struct imap_view_msg, uid) == 0, "a view message starts with its UID");
_Static_assert(offsetof(struct imap_snapshot_msg, uid) == 0,
	       "a snapshot message starts with its UID");

/*
 * The first of count elements of stride bytes, sorted by the uint32_t UID at
 * their start, whose UID is >= uid (count when none): views and snapshots.
 */
static size_t uid_lower_bound(const void *base, size_t count, size_t stride, uint32_t uid)
{
	size_t lo = 0, hi = count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t at;

		memcpy(&at, (const char *)base + mid * stride, sizeof(at));
		if (at < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static ssize_t snapshot_find(const struct imap_snapshot *s, uint32_t uid)
{
	size_t i = uid_lower_bound(s->msgs, s->count, sizeof(*s->msgs), uid);

	return i < s->count && s->msgs[i].uid == uid ? (ssize_t)i : -1;
}

/* Whether this session keeps \Recent (RFC 3501 2.3.2; IMAP4rev2 has none). */
static bool claims_recent(const struct imap_session *sess, bool readonly)
{
	return !readonly && !(sess->enabled & IMAP_ENABLED_REV2);
}

/* Add each keyword of a space-separated list; true when one was new. */
static bool keywords_add(struct imap_view *v, const char *list)
{
	bool added = false;

	while (list != NULL && *list != '\0') {
		const char *end = strchr(list, ' ');
		size_t len = end != NULL ? (size_t)(end - list) : strlen(list);
		bool known = false;

		for (size_t i = 0; i < v->nkeywords && !known; i++)
			known = strlen(v->keywords[i]) == len && strncasecmp(v->keywords[i], list, len) == 0;
		if (!known && len > 0) {
			v->keywords = xrealloc(v->keywords, (v->nkeywords + 1) * sizeof(*v->keywords));
			v->keywords[v->nkeywords++] = xstrndup(list, len);
			added = true;
		}
		list = end != NULL ? end + 1 : NULL;
	}
	return added;
}

/* Read the folder from the database, one snapshot of it: STORE_OK with *snap_r. */
static int load(struct imap_session *sess, int64_t folder_id, struct imap_snapshot **snap_r,
		const char **error_r)
{
	char b1[IMAP_I64_BUFSZ], b2[IMAP_I64_BUFSZ];
	const char *params[2] = {imap_i64(b1, folder_id), imap_i64(b2, sess->mailbox.id)};
	struct imap_folder_state st = {.folder_id = folder_id};
	struct imap_snapshot *snap;
	bool found = false, sorted = true;
	size_t n = 0;
	PGresult *res;
	int rc, rows;

	rc = imap_query(sess->d, &stmt_load, 2, params, &res, error_r);
	if (rc != STORE_OK)
		return rc;
	rows = PQntuples(res);
	for (int r = 0; r < rows && !found; r++) {
		if (imap_col_i64(res, r, 0) == 0) {
			found = true;
			st.uidvalidity = (uint32_t)imap_col_i64(res, r, 1);
			st.uidnext = (uint32_t)imap_col_i64(res, r, 2);
			st.highestmodseq = imap_col_i64(res, r, 3);
		}
	}
	if (!found) {
		PQclear(res);
		*error_r = "no such folder";
		return STORE_NOT_FOUND;
	}
	snap = imap_snapshot_new(&st, (size_t)rows);
	for (int r = 0; r < rows; r++) {
		struct imap_snapshot_msg *m = &snap->msgs[n];
		int64_t size;

		if (imap_col_i64(res, r, 0) != 1)
			continue;
		m->uid = (uint32_t)imap_col_i64(res, r, 1);
		m->flags = (uint8_t)imap_col_i64(res, r, 2);
		size = imap_col_i64(res, r, 3);
		m->size = size >= 0 && size < UINT32_MAX ? (uint32_t)size : UINT32_MAX;
		sorted = sorted && (n == 0 || snap->msgs[n - 1].uid < m->uid);
		n++;
	}
	snap->count = n;
	if (!sorted)
		qsort(snap->msgs, n, sizeof(*snap->msgs), snapshot_msg_cmp);
	for (int r = 0; r < rows; r++) {
		ssize_t i;

		if (imap_col_i64(res, r, 0) != 2 ||
		    (i = snapshot_find(snap, (uint32_t)imap_col_i64(res, r, 1))) < 0)
			continue;
		if (snap->keywords == NULL)
			snap->keywords = xcalloc(n, sizeof(*snap->keywords));
		snap->keywords[i] = xstrdup(PQgetvalue(res, r, 4));
	}
	PQclear(res);
	*snap_r = snap;
	return STORE_OK;
}

int imap_view_open(struct imap_session *sess, int64_t folder_id, const char *name, bool readonly,
		   const char **error_r)
{
	char b1[IMAP_I64_BUFSZ], b2[IMAP_I64_BUFSZ];
	const char *params[3] = {imap_i64(b1, folder_id), imap_i64(b2, sess->mailbox.id),
				 claims_recent(sess, readonly) ? "true" : "false"};
	struct imap_folder_state st = {.folder_id = folder_id};
	struct imap_snapshot *snap;
	uint32_t recent_from, recent_to;
	struct imap_view *v;
	PGresult *res;
	int rc;

	imap_view_close(sess);
	/* watch before loading: a change in between is then seen at the next sync */
	imap_notify_watch(sess->d->notify, sess->sub, folder_id);
	rc = imap_query(sess->d, &stmt_state, 3, params, &res, error_r);
	if (rc == STORE_OK && PQntuples(res) == 0) {
		PQclear(res);
		*error_r = "no such folder";
		rc = STORE_NOT_FOUND;
	}
	if (rc != STORE_OK) {
		imap_notify_watch(sess->d->notify, sess->sub, 0);
		return rc;
	}
	st.uidvalidity = (uint32_t)imap_col_i64(res, 0, 0);
	st.uidnext = (uint32_t)imap_col_i64(res, 0, 1);
	st.highestmodseq = imap_col_i64(res, 0, 2);
	/* \Recent here: what this statement claimed (or, read-only, what nobody has yet) */
	recent_from = (sess->enabled & IMAP_ENABLED_REV2) ? UINT32_MAX
							 : (uint32_t)imap_col_i64(res, 0, 3);
	recent_to = st.uidnext;
	PQclear(res);
	snap = imap_view_cache_get(sess->d->view_cache, &st);
	if (snap == NULL) {
		/* newer than st if the folder changed in between: fine, it is one snapshot */
		rc = load(sess, folder_id, &snap, error_r);
		if (rc != STORE_OK) {
			imap_notify_watch(sess->d->notify, sess->sub, 0);
			return rc;
		}
		imap_view_cache_put(sess->d->view_cache, snap);
	}
	v = xcalloc(1, sizeof(*v));
	v->folder_id = folder_id;
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->uidvalidity = snap->state.uidvalidity;
	v->uidnext = snap->state.uidnext;
	v->highestmodseq = snap->state.highestmodseq;
	v->readonly = readonly;
	v->cap = snap->count > 0 ? snap->count : 1;
	v->msgs = xmalloc(v->cap * sizeof(*v->msgs));
	/* every message as of highestmodseq: the client knows each as it is now */
	for (size_t i = 0; i < snap->count; i++) {
		uint32_t uid = snap->msgs[i].uid;

		msgs_push(v, uid, v->highestmodseq, uid >= recent_from && uid < recent_to);
		if (v->first_unseen == 0 && !(snap->msgs[i].flags & STORE_FLAG_SEEN))
			v->first_unseen = i + 1;
		if (snap->keywords != NULL && snap->keywords[i] != NULL)
			keywords_add(v, snap->keywords[i]);
	}
	v->snap = snap;
	sess->view = v;
	sess->state = IMAP_STATE_SELECTED;
	/* the load is the state: only later notifications count */
	imap_notify_changed(sess->d->notify, sess->sub);
	return STORE_OK;
}

const struct imap_snapshot *imap_view_snapshot(const struct imap_session *sess)
{
	const struct imap_view *v = sess->view;

	if (v == NULL || v->snap == NULL || v->snap->state.highestmodseq != v->highestmodseq ||
	    v->snap->count != v->count)
		return NULL;
	return v->snap;
}

void imap_view_forget_snapshot(struct imap_session *sess)
{
	if (sess->view != NULL)
		imap_snapshot_release(sess->d->view_cache, &sess->view->snap);
}

void imap_view_close(struct imap_session *sess)
{
	if (sess->view == NULL)
		return;
	imap_view_forget_snapshot(sess);
	view_free(&sess->view);
	imap_notify_watch(sess->d->notify, sess->sub, 0);
	if (sess->state == IMAP_STATE_SELECTED)
		sess->state = IMAP_STATE_AUTH;
}

/* The first index whose UID is >= uid. */
static size_t lower_bound(const struct imap_view *v, uint32_t uid)
{
	return uid_lower_bound(v->msgs, v->count, sizeof(*v->msgs), uid);
}

ssize_t imap_view_find(const struct imap_view *v, uint32_t uid)
{
	size_t i = lower_bound(v, uid);

	return i < v->count && v->msgs[i].uid == uid ? (ssize_t)i : -1;
}

uint32_t imap_view_max_uid(const struct imap_view *v)
{
	return v->count > 0 ? v->msgs[v->count - 1].uid : 0;
}

static void idx_push(size_t **idx, size_t *n, size_t *cap, size_t value)
{
	if (*n == *cap) {
		*cap = *cap == 0 ? 64 : *cap * 2;
		*idx = xrealloc(*idx, *cap * sizeof(**idx));
	}
	(*idx)[(*n)++] = value;
}

int imap_view_resolve(struct imap_session *sess, const struct imap_arg *arg, bool uid,
		      size_t **idx_r, size_t *n_r, const char **error_r)
{
	const struct imap_view *v = sess->view;
	struct imap_seqset set = {0};
	size_t cap = 0;

	*idx_r = NULL;
	*n_r = 0;
	if (arg == NULL || arg->type != IMAP_ARG_ATOM) {
		*error_r = "Invalid sequence set";
		return -1;
	}
	if (arg->len == 1 && arg->str[0] == '$') {
		/* RFC 5182 2.1: the saved result, UIDs, whichever form the command has */
		for (size_t r = 0; sess->saved_valid && r < sess->saved.n; r++) {
			for (size_t i = lower_bound(v, sess->saved.r[r].lo);
			     i < v->count && v->msgs[i].uid <= sess->saved.r[r].hi; i++)
				idx_push(idx_r, n_r, &cap, i);
		}
		return 0;
	}
	if (!uid && v->count == 0 && memchr(arg->str, '*', arg->len) != NULL &&
	    imap_seqset_parse(arg->str, arg->len, 0, &set) == 0) {
		/* "1:*" of an empty mailbox: nothing, not an error */
		imap_seqset_clear(&set);
		return 0;
	}
	if (imap_seqset_parse(arg->str, arg->len, uid ? imap_view_max_uid(v) : (uint32_t)v->count,
			      &set) < 0) {
		*error_r = "Invalid sequence set";
		return -1;
	}
	if (!uid && set.n > 0 && set.r[set.n - 1].hi > v->count) {
		imap_seqset_clear(&set);
		*error_r = "Invalid message sequence number";
		return -1;
	}
	for (size_t r = 0; r < set.n; r++) {
		if (!uid) {
			for (uint64_t s = set.r[r].lo; s <= set.r[r].hi; s++)
				idx_push(idx_r, n_r, &cap, (size_t)s - 1);
			continue;
		}
		for (size_t i = lower_bound(v, set.r[r].lo); i < v->count && v->msgs[i].uid <= set.r[r].hi;
		     i++)
			idx_push(idx_r, n_r, &cap, i);
	}
	imap_seqset_clear(&set);
	return 0;
}

void imap_flags_format(unsigned int flags, const char *keywords, bool recent, struct sbuf *out)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = {
	    {STORE_FLAG_SEEN, "\\Seen"},     {STORE_FLAG_ANSWERED, "\\Answered"},
	    {STORE_FLAG_FLAGGED, "\\Flagged"}, {STORE_FLAG_DELETED, "\\Deleted"},
	    {STORE_FLAG_DRAFT, "\\Draft"},
	};
	bool first = true;

	/* called for every message of a FETCH: no printf */
	sbuf_append(out, "(", 1);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (flags & names[i].bit) {
			if (!first)
				sbuf_append(out, " ", 1);
			sbuf_append_str(out, names[i].name);
			first = false;
		}
	}
	if (recent) {
		sbuf_append_str(out, first ? "\\Recent" : " \\Recent");
		first = false;
	}
	if (keywords != NULL && *keywords != '\0') {
		if (!first)
			sbuf_append(out, " ", 1);
		sbuf_append_str(out, keywords);
	}
	sbuf_append(out, ")", 1);
}

void imap_view_send_flags(struct imap_session *sess)
{
	struct imap_view *v = sess->view;
	struct sbuf kw = {0};

	for (size_t i = 0; i < v->nkeywords; i++)
		sbuf_appendf(&kw, " %s", v->keywords[i]);
	imap_untagged(sess, "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s)", sbuf_str(&kw));
	if (v->readonly)
		imap_untagged(sess, "OK [PERMANENTFLAGS ()] Read-only mailbox");
	else
		imap_untagged(sess,
			      "OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s \\*)] "
			      "Flags permitted",
			      sbuf_str(&kw));
	sbuf_free(&kw);
}

void imap_view_keywords_seen(struct imap_session *sess, const char *keywords)
{
	if (sess->view != NULL && keywords_add(sess->view, keywords))
		imap_view_send_flags(sess);
}

void imap_view_send_fetch_flags(struct imap_session *sess, size_t idx, unsigned int flags,
				const char *keywords, int64_t modseq, bool with_uid)
{
	struct sbuf line = {0};

	sbuf_appendf(&line, "* %zu FETCH (", idx + 1);
	if (with_uid)
		sbuf_appendf(&line, "UID %u ", sess->view->msgs[idx].uid);
	sbuf_append_str(&line, "FLAGS ");
	imap_flags_format(flags, keywords, sess->view->msgs[idx].recent, &line);
	if (sess->enabled & IMAP_ENABLED_CONDSTORE)
		sbuf_appendf(&line, " MODSEQ (%lld)", (long long)modseq);
	sbuf_append(&line, ")\r\n", 3);
	imap_write(sess, line.data, line.len);
	sbuf_free(&line);
}

/* Drop the messages marked expunged. */
static void compact(struct imap_view *v)
{
	size_t out = 0;

	for (size_t i = 0; i < v->count; i++) {
		if (!v->msgs[i].expunged)
			v->msgs[out++] = v->msgs[i];
		else if (v->msgs[i].recent)
			v->nrecent--;
	}
	v->count = out;
}

/* Tell and drop the messages marked expunged. */
static void send_expunges(struct imap_session *sess)
{
	struct imap_view *v = sess->view;
	struct imap_seqset gone = {0};

	if (sess->enabled & IMAP_ENABLED_QRESYNC) {
		/* RFC 7162 3.2.10: VANISHED instead of EXPUNGE */
		for (size_t i = 0; i < v->count; i++) {
			if (v->msgs[i].expunged)
				imap_seqset_add(&gone, v->msgs[i].uid, v->msgs[i].uid);
		}
		if (gone.n > 0) {
			struct sbuf line = {0};

			imap_seqset_normalize(&gone);
			imap_seqset_format(&gone, &line);
			imap_untagged(sess, "VANISHED %s", sbuf_str(&line));
			sbuf_free(&line);
		}
		imap_seqset_clear(&gone);
	} else {
		/* from the end, so each number is right when it is read */
		for (size_t i = v->count; i-- > 0;) {
			if (v->msgs[i].expunged)
				imap_untagged(sess, "%zu EXPUNGE", i + 1);
		}
	}
	compact(v);
}

void imap_view_expunged(struct imap_session *sess, const int64_t *uids, size_t n, bool announce)
{
	struct imap_view *v = sess->view;

	imap_view_forget_snapshot(sess);
	for (size_t i = 0; i < n; i++) {
		ssize_t k = imap_view_find(v, (uint32_t)uids[i]);

		if (k >= 0)
			v->msgs[k].expunged = true;
	}
	if (announce) {
		send_expunges(sess);
		return;
	}
	compact(v);
}

void imap_view_sync(struct imap_session *sess, bool allow_expunge, bool force)
{
	struct imap_view *v = sess->view;
	char b1[IMAP_I64_BUFSZ], b2[IMAP_I64_BUFSZ];
	const char *params[3], *error = NULL;
	bool pending = false, changed, with_uid;
	size_t known, recent;
	uint32_t first_recent;
	PGresult *res;
	int rows;

	if (v == NULL)
		return;
	changed = imap_notify_changed(sess->d->notify, sess->sub);
	for (size_t i = 0; i < v->count && !pending; i++)
		pending = v->msgs[i].expunged;
	if (!force && !changed && !v->resync) {
		if (pending && allow_expunge)
			send_expunges(sess);
		return;
	}
	params[0] = imap_i64(b1, v->folder_id);
	params[1] = imap_i64(b2, v->highestmodseq);
	params[2] = claims_recent(sess, v->readonly) ? "true" : "false";
	if (imap_query(sess->d, &stmt_sync, 3, params, &res, &error) != STORE_OK) {
		/* try again at the next chance; the client hears nothing now */
		log_debug("sync: %s", error);
		v->resync = true;
		return;
	}
	v->resync = false;
	rows = PQntuples(res);
	if (rows == 0 || imap_col_i64(res, 0, 0) != 0) {
		PQclear(res);
		v->deleted = true;
		return;
	}
	/* expunges first: a message both changed and expunged is just gone */
	for (int r = 1; r < rows; r++) {
		ssize_t i;

		if (imap_col_i64(res, r, 0) != 2)
			continue;
		i = imap_view_find(v, (uint32_t)imap_col_i64(res, r, 1));
		if (i >= 0)
			v->msgs[i].expunged = true;
	}
	if (allow_expunge)
		send_expunges(sess);
	known = v->count;
	recent = v->nrecent;
	first_recent = (sess->enabled & IMAP_ENABLED_REV2) ? UINT32_MAX
							    : (uint32_t)imap_col_i64(res, 0, 4);
	/* new messages: UIDs above every one in the view */
	for (int r = 1; r < rows; r++) {
		uint32_t uid = (uint32_t)imap_col_i64(res, r, 1);

		if (imap_col_i64(res, r, 0) == 1 && uid > imap_view_max_uid(v)) {
			msgs_push(v, uid, imap_col_i64(res, r, 2), uid >= first_recent);
			imap_view_keywords_seen(sess, PQgetvalue(res, r, 4));
		}
	}
	if (v->count > known)
		imap_untagged(sess, "%zu EXISTS", v->count);
	/* RFC 3501 7.3.2: RECENT when the number changes (not in IMAP4rev2) */
	if (v->nrecent != recent && !(sess->enabled & IMAP_ENABLED_REV2))
		imap_untagged(sess, "%zu RECENT", v->nrecent);
	/* flag changes of messages the client knows */
	/* RFC 7162 3.2.4 wants the UID with QRESYNC; it helps every client */
	with_uid = true;
	for (int r = 1; r < rows; r++) {
		int64_t modseq = imap_col_i64(res, r, 2);
		ssize_t i;

		if (imap_col_i64(res, r, 0) != 1)
			continue;
		i = imap_view_find(v, (uint32_t)imap_col_i64(res, r, 1));
		if (i < 0 || (size_t)i >= known || v->msgs[i].expunged ||
		    v->msgs[i].modseq >= modseq)
			continue;
		v->msgs[i].modseq = modseq;
		imap_view_keywords_seen(sess, PQgetvalue(res, r, 4));
		imap_view_send_fetch_flags(sess, (size_t)i, (unsigned int)imap_col_i64(res, r, 3),
					   PQgetvalue(res, r, 4), modseq, with_uid);
	}
	v->uidnext = (uint32_t)imap_col_i64(res, 0, 1);
	v->highestmodseq = imap_col_i64(res, 0, 2);
	PQclear(res);
	if (v->snap != NULL && v->snap->state.highestmodseq != v->highestmodseq)
		imap_view_forget_snapshot(sess);
}
