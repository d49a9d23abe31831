/*
 * imap_cmd_store.c: STORE and UID STORE (RFC 3501 6.4.6, RFC 9051 6.4.6)
 * with .SILENT and CONDSTORE's UNCHANGEDSINCE (RFC 7162 3.1.3), and the
 * flag-list parser APPEND shares. The change itself is the store's
 * (store_set_flags: one new mod-sequence for the messages it changed);
 * this file then reports the flags of every message of the set, and the
 * ones an UNCHANGEDSINCE kept from changing as [MODIFIED ...].
 */
#include "imap_commands.h"

#include "imap_db.h"
#include "imap_view.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RFC 3501 9: keyword = atom; ours are also bounded. */
#define KEYWORD_MAX_LEN 128
#define KEYWORDS_MAX 64

static const struct db_stmt stmt_state = {
    "imapd_store_state",
    "SELECT uid, flags, array_to_string(keywords, ' '), modseq FROM messages"
    " WHERE folder_id = $1 AND uid = ANY ($2::bigint[]) ORDER BY uid"};

static bool keyword_valid(const char *s, size_t len)
{
	if (len == 0 || len > KEYWORD_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* ATOM-CHAR without the resp-special ']' and without wildcards */
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

void imap_flag_list_free(struct imap_flag_list *fl)
{
	for (size_t i = 0; i < fl->nkeywords; i++)
		free(fl->keywords[i]);
	free(fl->keywords);
	memset(fl, 0, sizeof(*fl));
}

/* Add one flag or keyword; -1 when it is not one that may be set. */
static int add_flag(struct imap_flag_list *fl, const struct imap_arg *a)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} system[] = {
	    {"\\Seen", STORE_FLAG_SEEN},       {"\\Answered", STORE_FLAG_ANSWERED},
	    {"\\Flagged", STORE_FLAG_FLAGGED}, {"\\Deleted", STORE_FLAG_DELETED},
	    {"\\Draft", STORE_FLAG_DRAFT},
	};

	if (a->type != IMAP_ARG_ATOM)
		return -1;
	if (a->str[0] == '\\') {
		for (size_t i = 0; i < ARRAY_SIZE(system); i++) {
			if (strcasecmp(a->str, system[i].name) == 0) {
				fl->flags |= system[i].bit;
				return 0;
			}
		}
		/* \Recent cannot be set (RFC 3501 2.3.2), nor flags we do not know */
		return -1;
	}
	if (!keyword_valid(a->str, a->len) || fl->nkeywords == KEYWORDS_MAX)
		return -1;
	for (size_t i = 0; i < fl->nkeywords; i++) {
		if (strcasecmp(fl->keywords[i], a->str) == 0)
			return 0;
	}
	fl->keywords = xrealloc(fl->keywords, (fl->nkeywords + 1) * sizeof(*fl->keywords));
	fl->keywords[fl->nkeywords++] = xstrdup(a->str);
	return 0;
}

int imap_flag_list_parse(const struct imap_arg *args, size_t nargs, struct imap_flag_list *fl)
{
	memset(fl, 0, sizeof(*fl));
	/* "(\Seen $X)", or flags without parentheses (RFC 3501 6.4.6: flag-list / flag *(SP flag)) */
	if (nargs == 1 && args[0].type == IMAP_ARG_LIST) {
		nargs = args[0].count;
		args = args[0].list;
	}
	for (size_t i = 0; i < nargs; i++) {
		if (add_flag(fl, &args[i]) < 0) {
			imap_flag_list_free(fl);
			return -1;
		}
	}
	return 0;
}

/* "+FLAGS.SILENT" and the like. */
static int parse_item(const struct imap_arg *a, enum store_flag_mode *mode, bool *silent)
{
	const char *s;

	if (a->type != IMAP_ARG_ATOM)
		return -1;
	s = a->str;
	*mode = STORE_FLAGS_REPLACE;
	if (*s == '+' || *s == '-')
		*mode = *s++ == '+' ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
	if (strcasecmp(s, "FLAGS") == 0)
		*silent = false;
	else if (strcasecmp(s, "FLAGS.SILENT") == 0)
		*silent = true;
	else
		return -1;
	return 0;
}

static bool changed_by_us(const struct store_flag_change *changes, size_t n, int64_t uid)
{
	for (size_t i = 0; i < n; i++) {
		if (changes[i].uid == uid)
			return true;
	}
	return false;
}

/* Report the set after the change; collect what UNCHANGEDSINCE kept back. */
static int report(struct imap_session *sess, const int64_t *uids, size_t n, bool silent,
		  int64_t unchangedsince, const struct store_flag_change *changes,
		  size_t nchanges, struct imap_seqset *modified, const char **error_r)
{
	struct imap_view *v = sess->view;
	char b1[IMAP_I64_BUFSZ];
	struct sbuf list = {0};
	const char *params[2];
	PGresult *res;
	int rc;

	sbuf_append_str(&list, "{");
	for (size_t i = 0; i < n; i++)
		sbuf_appendf(&list, "%s%lld", i > 0 ? "," : "", (long long)uids[i]);
	sbuf_append_str(&list, "}");
	params[0] = imap_i64(b1, v->folder_id);
	params[1] = list.data;
	rc = imap_query(sess->d, &stmt_state, 2, params, &res, error_r);
	sbuf_free(&list);
	if (rc != STORE_OK)
		return rc;
	for (int r = 0; r < PQntuples(res); r++) {
		int64_t uid = imap_col_i64(res, r, 0), modseq = imap_col_i64(res, r, 3);
		ssize_t i = imap_view_find(v, (uint32_t)uid);
		bool ours = changed_by_us(changes, nchanges, uid);

		if (i < 0)
			continue;
		if (!ours && unchangedsince >= 0 && modseq > unchangedsince) {
			/* RFC 7162 3.1.3: reported in MODIFIED, by number or UID */
			uint32_t id = sess->uid ? (uint32_t)uid : (uint32_t)i + 1;

			imap_seqset_add(modified, id, id);
			continue;
		}
		imap_view_keywords_seen(sess, PQgetvalue(res, r, 2));
		if (silent && !(ours && (sess->enabled & IMAP_ENABLED_CONDSTORE))) {
			if (ours && v->msgs[i].modseq < modseq)
				v->msgs[i].modseq = modseq;
			continue;
		}
		if (silent && sess->uid) {
			/* RFC 7162 3.1.3: .SILENT still tells the new MODSEQ */
			imap_untagged(sess, "%zd FETCH (UID %lld MODSEQ (%lld))", i + 1, (long long)uid,
				      (long long)modseq);
		} else if (silent) {
			imap_untagged(sess, "%zd FETCH (MODSEQ (%lld))", i + 1, (long long)modseq);
		} else {
			imap_view_send_fetch_flags(sess, (size_t)i, (unsigned int)imap_col_i64(res, r, 1),
						   PQgetvalue(res, r, 2), modseq, sess->uid);
		}
		if (v->msgs[i].modseq < modseq)
			v->msgs[i].modseq = modseq;
	}
	PQclear(res);
	imap_seqset_normalize(modified);
	return STORE_OK;
}

void imap_cmd_store(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	struct store_flag_change *changes = NULL;
	struct imap_seqset modified = {0};
	struct imap_flag_list fl;
	enum store_flag_mode mode;
	int64_t unchangedsince = -1, *uids = NULL;
	const char *error = NULL;
	size_t *idx = NULL, n = 0, nuids = 0, nchanges = 0, item = 1;
	bool silent;
	int rc;

	if (nargs >= 2 && args[1].type == IMAP_ARG_LIST) {
		/* RFC 7162 3.1.3: STORE set (UNCHANGEDSINCE n) item value */
		const struct imap_arg *m = &args[1];

		if (m->count != 2 || !imap_arg_is_atom(&m->list[0], "UNCHANGEDSINCE") ||
		    (unchangedsince = imap_arg_number(&m->list[1], INT64_MAX)) < 0) {
			imap_tagged(sess, "BAD Invalid STORE modifier");
			return;
		}
		sess->enabled |= IMAP_ENABLED_CONDSTORE;
		item = 2;
	}
	if (nargs < item + 2 || parse_item(&args[item], &mode, &silent) < 0) {
		imap_tagged(sess, "BAD Syntax: STORE sequence-set [+-]FLAGS[.SILENT] (flags)");
		return;
	}
	if (imap_flag_list_parse(&args[item + 1], nargs - item - 1, &fl) < 0) {
		imap_tagged(sess, "BAD Invalid flag list");
		return;
	}
	if (sess->view->readonly) {
		imap_tagged(sess, "NO [READ-ONLY] Mailbox is read-only");
		imap_flag_list_free(&fl);
		return;
	}
	if (imap_view_resolve(sess, &args[0], sess->uid, &idx, &n, &error) < 0) {
		imap_tagged(sess, "BAD %s", error);
		imap_flag_list_free(&fl);
		return;
	}
	if (n > 0)
		uids = xmalloc(n * sizeof(*uids));
	for (size_t i = 0; i < n; i++) {
		if (!sess->view->msgs[idx[i]].expunged)
			uids[nuids++] = sess->view->msgs[idx[i]].uid;
	}
	rc = STORE_OK;
	if (nuids > 0) {
		rc = store_set_flags(sess->d->store, &sess->mailbox, sess->view->folder_id, uids, nuids,
				     mode, fl.flags, (const char *const *)fl.keywords, fl.nkeywords,
				     unchangedsince, &changes, &nchanges, &error);
		if (rc == STORE_OK && nchanges > 0)
			imap_view_forget_snapshot(sess);
		if (rc == STORE_OK)
			rc = report(sess, uids, nuids, silent, unchangedsince, changes, nchanges,
				    &modified, &error);
	}
	if (rc != STORE_OK) {
		imap_tagged_store_error(sess, rc, error);
	} else if (modified.n > 0) {
		struct sbuf text = {0};

		imap_seqset_format(&modified, &text);
		imap_tagged(sess, "OK [MODIFIED %s] Conditional STORE failed", sbuf_str(&text));
		sbuf_free(&text);
	} else if (nuids < n && !sess->uid) {
		imap_tagged(sess, "NO [EXPUNGEISSUED] Some messages were expunged");
	}
	store_flag_changes_free(&changes, nchanges);
	imap_seqset_clear(&modified);
	imap_flag_list_free(&fl);
	free(uids);
	free(idx);
}
