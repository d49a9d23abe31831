/*
 * imap_cmd_list.c: LIST (RFC 3501 6.3.8, RFC 9051 6.3.9) with
 * LIST-EXTENDED (RFC 5258: selection options SUBSCRIBED, REMOTE,
 * RECURSIVEMATCH, SPECIAL-USE; several patterns; RETURN options
 * SUBSCRIBED, CHILDREN, SPECIAL-USE, STATUS), CHILDREN (RFC 3348),
 * SPECIAL-USE (RFC 6154), LIST-STATUS (RFC 5819) and LSUB (RFC 3501
 * 6.3.9).
 *
 * The folders of the mailbox are read once; a level that only exists as
 * the parent of others ("a" of "a/b") is listed as \NonExistent (\Noselect
 * before IMAP4rev2). Patterns are matched on the UTF-8 names with a
 * dynamic program (no backtracking blow-up on many wildcards); the INBOX
 * part of a name matches without case.
 */
#include "imap_commands.h"

#include "imap_db.h"
#include "imap_utf7.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct db_stmt stmt_folders = {
    "imapd_list_folders",
    "SELECT f.id, f.name, f.special_use, s.name IS NOT NULL FROM folders f"
    " LEFT JOIN subscriptions s ON s.mailbox_id = f.mailbox_id AND s.name = f.name"
    " WHERE f.mailbox_id = $1"
    " UNION ALL"
    " SELECT 0, s.name, NULL, true FROM subscriptions s WHERE s.mailbox_id = $1"
    " AND NOT EXISTS (SELECT 1 FROM folders f WHERE f.mailbox_id = $1 AND f.name = s.name)"};

struct entry {
	int64_t id;      /* 0 for a level or a subscribed name with no folder of its own */
	char *name;
	char *special;   /* "\\Sent" ... or NULL */
	bool subscribed;
	bool listed;     /* a folder, or a level above one: what a plain LIST shows */
	bool children;   /* some folder lies below it */
	bool sub_child;  /* some subscribed name lies below it */
};

struct folder_list {
	struct entry *e;
	size_t n, cap;
};

static void list_free(struct folder_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].name);
		free(l->e[i].special);
	}
	free(l->e);
	memset(l, 0, sizeof(*l));
}

static struct entry *list_add(struct folder_list *l, const char *name, size_t len)
{
	struct entry *e;

	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 32 : l->cap * 2;
		l->e = xrealloc(l->e, l->cap * sizeof(*l->e));
	}
	e = &l->e[l->n++];
	memset(e, 0, sizeof(*e));
	e->name = xstrndup(name, len);
	return e;
}

/* INBOX first, then by name. */
static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	bool xi = strcmp(x->name, "INBOX") == 0, yi = strcmp(y->name, "INBOX") == 0;

	if (xi != yi)
		return xi ? -1 : 1;
	return strcmp(x->name, y->name);
}

static struct entry *list_find(struct folder_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->e[i].name, name) == 0)
			return &l->e[i];
	}
	return NULL;
}

/* The folders, their missing parent levels, and who has children. */
static int load_folders(struct imap_session *sess, struct folder_list *l, const char **error_r)
{
	char b1[IMAP_I64_BUFSZ];
	const char *params[1] = {imap_i64(b1, sess->mailbox.id)};
	PGresult *res;
	size_t real;
	int rc;

	rc = imap_query(sess->d, &stmt_folders, 1, params, &res, error_r);
	if (rc != STORE_OK)
		return rc;
	for (int r = 0; r < PQntuples(res); r++) {
		struct entry *e = list_add(l, PQgetvalue(res, r, 1), strlen(PQgetvalue(res, r, 1)));

		e->id = imap_col_i64(res, r, 0);
		e->special = PQgetisnull(res, r, 2) ? NULL : xstrdup(PQgetvalue(res, r, 2));
		e->subscribed = strcmp(PQgetvalue(res, r, 3), "t") == 0;
		e->listed = e->id != 0;
	}
	PQclear(res);
	real = l->n;
	for (size_t i = 0; i < real; i++) {
		const char *name = l->e[i].name;
		bool sub = l->e[i].subscribed, is_folder = l->e[i].id != 0;

		for (const char *slash = strchr(name, '/'); slash != NULL;
		     slash = strchr(slash + 1, '/')) {
			char *parent = xstrndup(name, (size_t)(slash - name));
			struct entry *p = list_find(l, parent);

			if (p == NULL)
				p = list_add(l, parent, strlen(parent));
			free(parent);
			if (is_folder)
				p->children = p->listed = true;
			if (sub)
				p->sub_child = true;
		}
	}
	if (l->n > 1)
		qsort(l->e, l->n, sizeof(*l->e), entry_cmp);
	return STORE_OK;
}

/* The maximum pattern we match; longer ones cannot match a folder name anyway. */
#define PATTERN_MAX (2 * STORE_FOLDER_NAME_MAX)

/* RFC 3501 6.3.8: '*' matches anything, '%' anything but the separator. */
static bool pattern_match(const char *pat, const char *name)
{
	size_t plen = strlen(pat), nlen = strlen(name);
	bool inbox = strncmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == '/');
	bool *row, *next, ok;

	if (plen > PATTERN_MAX)
		return false;
	row = xcalloc(nlen + 1, sizeof(bool));
	next = xcalloc(nlen + 1, sizeof(bool));
	row[0] = true;
	for (size_t i = 0; i < plen; i++) {
		char c = pat[i];

		for (size_t j = 0; j <= nlen; j++) {
			if (c == '*') {
				next[j] = row[j] || (j > 0 && next[j - 1]);
			} else if (c == '%') {
				next[j] = row[j] || (j > 0 && next[j - 1] && name[j - 1] != '/');
			} else if (j == 0) {
				next[j] = false;
			} else {
				char n = name[j - 1];
				bool eq = c == n;

				/* "inbox" names the INBOX */
				if (!eq && inbox && j - 1 < 5)
					eq = (c & ~0x20) == n;
				next[j] = row[j - 1] && eq;
			}
		}
		{
			bool *t = row;
			row = next;
			next = t;
		}
	}
	ok = row[nlen];
	free(row);
	free(next);
	return ok;
}

struct list_options {
	bool extended;
	bool sel_subscribed, sel_special_use, recursive;
	bool ret_subscribed, ret_status;
	bool lsub;
	struct imap_status_items status;
};

static int parse_selection(const struct imap_arg *a, struct list_options *o)
{
	for (size_t i = 0; i < a->count; i++) {
		const struct imap_arg *x = &a->list[i];

		if (imap_arg_is_atom(x, "SUBSCRIBED"))
			o->sel_subscribed = true;
		else if (imap_arg_is_atom(x, "SPECIAL-USE"))
			o->sel_special_use = true;
		else if (imap_arg_is_atom(x, "RECURSIVEMATCH"))
			o->recursive = true;
		else if (!imap_arg_is_atom(x, "REMOTE"))
			return -1;
	}
	/* RFC 5258 3.1: RECURSIVEMATCH needs another selection option */
	return o->recursive && !o->sel_subscribed && !o->sel_special_use ? -1 : 0;
}

static int parse_return(const struct imap_arg *a, struct list_options *o)
{
	for (size_t i = 0; i < a->count; i++) {
		const struct imap_arg *x = &a->list[i];

		if (imap_arg_is_atom(x, "SUBSCRIBED")) {
			o->ret_subscribed = true;
		} else if (imap_arg_is_atom(x, "STATUS") && i + 1 < a->count) {
			if (imap_status_items_parse(&a->list[++i], &o->status) < 0)
				return -1;
			o->ret_status = true;
		} else if (!imap_arg_is_atom(x, "CHILDREN") && !imap_arg_is_atom(x, "SPECIAL-USE")) {
			return -1;
		}
	}
	return 0;
}

/* The pattern (reference + mailbox) in UTF-8; -1 when it cannot be decoded. */
static int make_pattern(struct imap_session *sess, const char *ref, const char *pat,
			struct sbuf *out)
{
	struct sbuf raw = {0};
	int rc = 0;

	sbuf_append_str(&raw, ref);
	sbuf_append_str(&raw, pat);
	if (imap_utf8_names(sess))
		sbuf_append(out, sbuf_str(&raw), raw.len);
	else
		rc = imap_utf7_to_utf8(sbuf_str(&raw), raw.len, out);
	sbuf_free(&raw);
	/* the INBOX in any case */
	if (rc == 0 && out->len >= 5 && strncasecmp(out->data, "INBOX", 5) == 0 &&
	    (out->len == 5 || out->data[5] == '/' || out->data[5] == '*' || out->data[5] == '%'))
		memcpy(out->data, "INBOX", 5);
	return rc;
}

static void send_entry(struct imap_session *sess, const struct list_options *o,
		       const struct entry *e, bool childinfo)
{
	bool rev2 = (sess->enabled & IMAP_ENABLED_REV2) != 0;
	struct sbuf line = {0};
	size_t mark;

	sbuf_append_str(&line, o->lsub ? "LSUB (" : "LIST (");
	mark = line.len;
	if (o->lsub) {
		if (!e->subscribed || e->id == 0)
			sbuf_append_str(&line, "\\Noselect");
	} else {
		if (e->id == 0)
			sbuf_append_str(&line, o->extended || rev2 ? "\\NonExistent" : "\\Noselect");
		/* a name only subscribed has no children to tell of (RFC 5258 example 5.4) */
		if (e->listed)
			sbuf_appendf(&line, "%s%s", line.len > mark ? " " : "",
				     e->children ? "\\HasChildren" : "\\HasNoChildren");
		if (e->subscribed && (o->ret_subscribed || o->sel_subscribed))
			sbuf_append_str(&line, " \\Subscribed");
		if (e->special != NULL)
			sbuf_appendf(&line, " %s", e->special);
	}
	sbuf_append_str(&line, ") \"/\" ");
	imap_append_mailbox(sess, &line, e->name);
	if (childinfo)
		sbuf_append_str(&line, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	imap_untagged(sess, "%s", sbuf_str(&line));
	sbuf_free(&line);
}

/* List every entry matching one of the patterns. */
static int run_list(struct imap_session *sess, const struct list_options *o, struct sbuf *patterns,
		    size_t npatterns, const char **error_r)
{
	struct folder_list l = {0};
	int rc = load_folders(sess, &l, error_r);

	for (size_t i = 0; rc == STORE_OK && i < l.n; i++) {
		const struct entry *e = &l.e[i];
		bool matched = false, childinfo = false;

		for (size_t p = 0; p < npatterns && !matched; p++)
			matched = pattern_match(sbuf_str(&patterns[p]), e->name);
		if (!matched)
			continue;
		if (o->lsub) {
			/* RFC 3501 6.3.9: a trailing '%' also gives levels above subscribed names */
			bool pct = false;

			for (size_t p = 0; p < npatterns; p++)
				pct |= patterns[p].len > 0 && patterns[p].data[patterns[p].len - 1] == '%';
			if (!e->subscribed && !(pct && e->sub_child))
				continue;
		} else if (o->sel_subscribed) {
			if (!e->subscribed) {
				if (!o->recursive || !e->sub_child)
					continue;
				childinfo = true;
			}
		} else if (o->sel_special_use) {
			if (e->special == NULL)
				continue;
		} else if (!e->listed) {
			continue; /* only subscribed, no folder: not in a plain LIST */
		}
		send_entry(sess, o, e, childinfo);
		if (o->ret_status && e->id != 0) {
			rc = imap_status_send(sess, e->id, e->name, &o->status, error_r);
			if (rc == STORE_NOT_FOUND)
				rc = STORE_OK; /* deleted meanwhile */
		}
	}
	list_free(&l);
	return rc;
}

static void list_or_lsub(struct imap_session *sess, const struct imap_arg *args, size_t nargs,
			 bool lsub)
{
	struct list_options o = {.lsub = lsub};
	const struct imap_arg *pat_arg;
	struct sbuf *patterns;
	const char *ref, *error = NULL;
	size_t i = 0, npat;
	int rc = STORE_OK;

	if (!lsub && nargs > 0 && args[0].type == IMAP_ARG_LIST) {
		o.extended = true;
		if (parse_selection(&args[0], &o) < 0) {
			imap_tagged(sess, "BAD Invalid LIST selection options");
			return;
		}
		i = 1;
	}
	if (nargs < i + 2 || (ref = imap_arg_astring(&args[i])) == NULL) {
		imap_tagged(sess, "BAD Syntax: %s reference mailbox", lsub ? "LSUB" : "LIST");
		return;
	}
	pat_arg = &args[i + 1];
	i += 2;
	if (!lsub && i < nargs) {
		if (i + 2 != nargs || !imap_arg_is_atom(&args[i], "RETURN") ||
		    args[i + 1].type != IMAP_ARG_LIST || parse_return(&args[i + 1], &o) < 0) {
			imap_tagged(sess, "BAD Invalid LIST return options");
			return;
		}
		o.extended = true;
	} else if (i != nargs) {
		imap_tagged(sess, "BAD Syntax: %s reference mailbox", lsub ? "LSUB" : "LIST");
		return;
	}
	if (pat_arg->type == IMAP_ARG_LIST && !lsub) {
		o.extended = true;
		npat = pat_arg->count;
		pat_arg = pat_arg->list;
	} else {
		npat = 1;
	}
	if (npat == 0 || npat > 100) {
		imap_tagged(sess, "BAD Invalid mailbox patterns");
		return;
	}
	patterns = xcalloc(npat, sizeof(*patterns));
	for (size_t p = 0; p < npat; p++) {
		const char *text = imap_arg_astring(&pat_arg[p]);

		if (text == NULL) {
			imap_tagged(sess, "BAD Invalid mailbox pattern");
			goto out;
		}
		if (p == 0 && npat == 1 && *text == '\0' && !lsub) {
			/* RFC 3501 6.3.8: the hierarchy delimiter and root */
			imap_untagged(sess, "LIST (\\Noselect) \"/\" \"\"");
			goto out;
		}
		if (make_pattern(sess, ref, text, &patterns[p]) < 0)
			sbuf_reset(&patterns[p]); /* matches nothing: no name is empty */
		else if (patterns[p].len == 0)
			sbuf_append_str(&patterns[p], "\n"); /* an empty LSUB pattern: nothing */
	}
	rc = run_list(sess, &o, patterns, npat, &error);
	if (rc != STORE_OK)
		imap_tagged_store_error(sess, rc, error);
out:
	for (size_t p = 0; p < npat; p++)
		sbuf_free(&patterns[p]);
	free(patterns);
}

void imap_cmd_list(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	list_or_lsub(sess, args, nargs, false);
}

void imap_cmd_lsub(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	list_or_lsub(sess, args, nargs, true);
}
