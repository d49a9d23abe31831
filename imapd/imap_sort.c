/*
 * imap_sort.c: SORT and UID SORT (RFC 5256 3, RFC 9051-era syntax), and
 * the per-message sort data THREAD shares: base subjects (RFC 5256 2.1),
 * sent dates (2.2), first address mailboxes, from the cached ENVELOPE.
 * Ties are broken by sequence number, as RFC 5256 3 asks.
 */
#include "imap_commands.h"

#include "imap_db.h"
#include "imap_envelope.h"
#include "imap_sort.h"
#include "imap_view.h"
#include "mime.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 5256 5: subj-blob = "[" *BLOBCHAR "]" *WSP, BLOBCHAR any CHAR but "[" and "]". */
static const char *blob_end(const char *s)
{
	if (*s != '[')
		return NULL;
	for (s++; *s != '\0' && *s != '[' && *s != ']'; s++)
		;
	if (*s != ']')
		return NULL;
	for (s++; wsp(*s); s++)
		;
	return s;
}

/* Strip a leading subj-refwd: *subj-blob ("re" / "fw" / "fwd") [subj-blob] ":"; true if done. */
static bool strip_refwd(const char **sp)
{
	const char *s = *sp, *b;

	while ((b = blob_end(s)) != NULL)
		s = b;
	if (strncasecmp(s, "re", 2) == 0)
		s += 2;
	else if (strncasecmp(s, "fwd", 3) == 0)
		s += 3;
	else if (strncasecmp(s, "fw", 2) == 0)
		s += 2;
	else
		return false;
	while (wsp(*s))
		s++;
	if ((b = blob_end(s)) != NULL)
		s = b;
	if (*s != ':')
		return false;
	*sp = s + 1;
	return true;
}

void imap_base_subject(const char *raw, struct sbuf *out, bool *reply_r)
{
	struct sbuf dec = {0}, norm = {0};
	const char *s, *end;
	bool changed;

	*reply_r = false;
	/* (1) UTF-8, white space runs as one space */
	mime_header_decode(raw, strlen(raw), &dec);
	for (size_t i = 0; i < dec.len; i++) {
		char c = dec.data[i] == '\t' || dec.data[i] == '\r' || dec.data[i] == '\n' ? ' '
											: dec.data[i];

		if (c == ' ' && (norm.len == 0 || norm.data[norm.len - 1] == ' '))
			continue;
		sbuf_append(&norm, &c, 1);
	}
	sbuf_free(&dec);
	s = sbuf_str(&norm);
	end = s + norm.len;
	for (;;) {
		/* (2) trailing "(fwd)" and spaces */
		for (;;) {
			while (end > s && end[-1] == ' ')
				end--;
			if (end - s >= 5 && strncasecmp(end - 5, "(fwd)", 5) == 0) {
				end -= 5;
				*reply_r = true;
			} else {
				break;
			}
		}
		/* (3)-(5) leading "Re:", "[list]" and friends, as long as anything goes */
		do {
			changed = false;
			while (s < end && wsp(*s))
				s++;
			if (strip_refwd(&s)) {
				*reply_r = true;
				changed = true;
			} else {
				/* a blob goes only when something remains after it */
				const char *rest = blob_end(s);

				if (rest != NULL && rest < end) {
					s = rest;
					changed = true;
				}
			}
		} while (changed && s < end);
		if (s > end)
			s = end;
		/* (6) "[fwd: subject]" */
		if (end - s >= 6 && strncasecmp(s, "[fwd:", 5) == 0 && end[-1] == ']') {
			s += 5;
			end--;
			*reply_r = true;
			continue;
		}
		break;
	}
	while (s < end && wsp(*s))
		s++;
	imap_casefold(s, (size_t)(end - s), out);
	sbuf_free(&norm);
}

/* The mailbox part (local part) of a list's first address, case-folded; "" without one. */
static char *first_mailbox(const struct imap_env_list *l)
{
	struct imap_env_list list = *l;
	struct imap_env_address a;
	struct sbuf mbox = {0}, out = {0};

	if (imap_env_next_address(&list, &a) && imap_env_string_append(&a.mailbox, &mbox))
		imap_casefold(sbuf_str(&mbox), mbox.len, &out);
	sbuf_free(&mbox);
	return out.data != NULL ? out.data : xstrdup("");
}

/* The string's value, or NULL for NIL and "". */
static char *dup_or_null(const struct imap_env_string *str)
{
	struct sbuf out = {0};

	if (!imap_env_string_append(str, &out) || out.len == 0) {
		sbuf_free(&out);
		return NULL;
	}
	return out.data;
}

struct sort_msg *imap_sort_load(struct imap_session *sess, const struct imap_search_result *r)
{
	struct sort_msg *msgs = xcalloc(r->n > 0 ? r->n : 1, sizeof(*msgs));
	const PGresult *res = r->res;

	for (size_t i = 0; i < r->n; i++) {
		struct sort_msg *m = &msgs[i];
		struct imap_env env;
		struct sbuf subj = {0}, text = {0};
		bool have_env;
		int row = r->row[i];

		m->idx = r->idx[i];
		m->row = row;
		m->id = sess->uid ? sess->view->msgs[m->idx].uid : (uint32_t)m->idx + 1;
		m->arrival = imap_col_i64(res, row, SC_DATE);
		m->size = imap_col_i64(res, row, SC_SIZE);
		m->sent = m->arrival;
		have_env = !PQgetisnull(res, row, SC_ENV) &&
			   imap_env_read(PQgetvalue(res, row, SC_ENV),
					 (size_t)PQgetlength(res, row, SC_ENV), &env) == 0;
		if (have_env) {
			int64_t t = -1;

			if (imap_env_string_append(&env.date, &text))
				t = imap_rfc5322_time(sbuf_str(&text));
			if (t >= 0)
				m->sent = t;
			sbuf_reset(&text);
			imap_env_string_append(&env.subject, &text);
			imap_base_subject(sbuf_str(&text), &subj, &m->reply);
			m->from = first_mailbox(&env.addr[IMAP_ENV_FROM]);
			m->to = first_mailbox(&env.addr[IMAP_ENV_TO]);
			m->cc = first_mailbox(&env.addr[IMAP_ENV_CC]);
			m->in_reply_to = dup_or_null(&env.in_reply_to);
			m->message_id = dup_or_null(&env.message_id);
		} else {
			m->from = xstrdup("");
			m->to = xstrdup("");
			m->cc = xstrdup("");
		}
		m->subject = subj.data != NULL ? subj.data : xstrdup("");
		sbuf_free(&text);
	}
	return msgs;
}

void imap_sort_free(struct sort_msg *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(msgs[i].from);
		free(msgs[i].to);
		free(msgs[i].cc);
		free(msgs[i].subject);
		free(msgs[i].message_id);
		free(msgs[i].in_reply_to);
	}
	free(msgs);
}

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

int imap_sort_by_sent(const struct sort_msg *a, const struct sort_msg *b)
{
	int c = cmp_i64(a->sent, b->sent);

	return c != 0 ? c : cmp_i64((int64_t)a->idx, (int64_t)b->idx);
}

enum sort_key { SORT_ARRIVAL, SORT_CC, SORT_DATE, SORT_FROM, SORT_SIZE, SORT_SUBJECT, SORT_TO };

struct sort_criteria {
	enum sort_key key[16];
	bool reverse[16];
	size_t n;
};

static int compare(const void *x, const void *y, void *arg)
{
	const struct sort_criteria *c = arg;
	const struct sort_msg *a = x, *b = y;

	for (size_t i = 0; i < c->n; i++) {
		int r = 0;

		switch (c->key[i]) {
		case SORT_ARRIVAL:
			r = cmp_i64(a->arrival, b->arrival);
			break;
		case SORT_CC:
			r = strcmp(a->cc, b->cc);
			break;
		case SORT_DATE:
			r = cmp_i64(a->sent, b->sent);
			break;
		case SORT_FROM:
			r = strcmp(a->from, b->from);
			break;
		case SORT_SIZE:
			r = cmp_i64(a->size, b->size);
			break;
		case SORT_SUBJECT:
			r = strcmp(a->subject, b->subject);
			break;
		case SORT_TO:
			r = strcmp(a->to, b->to);
			break;
		}
		if (r != 0)
			return c->reverse[i] ? -r : r;
	}
	/* RFC 5256 3: ties go by sequence number */
	return cmp_i64((int64_t)a->idx, (int64_t)b->idx);
}

static int parse_criteria(const struct imap_arg *list, struct sort_criteria *c)
{
	static const struct {
		const char *name;
		enum sort_key key;
	} names[] = {{"ARRIVAL", SORT_ARRIVAL}, {"CC", SORT_CC},     {"DATE", SORT_DATE},
		     {"FROM", SORT_FROM},       {"SIZE", SORT_SIZE}, {"SUBJECT", SORT_SUBJECT},
		     {"TO", SORT_TO}};
	bool reverse = false;

	c->n = 0;
	if (list->type != IMAP_ARG_LIST || list->count == 0)
		return -1;
	for (size_t i = 0; i < list->count; i++) {
		size_t k;

		if (imap_arg_is_atom(&list->list[i], "REVERSE")) {
			if (reverse)
				return -1;
			reverse = true;
			continue;
		}
		for (k = 0; k < ARRAY_SIZE(names); k++) {
			if (imap_arg_is_atom(&list->list[i], names[k].name))
				break;
		}
		if (k == ARRAY_SIZE(names) || c->n == ARRAY_SIZE(c->key))
			return -1;
		c->key[c->n] = names[k].key;
		c->reverse[c->n++] = reverse;
		reverse = false;
	}
	return reverse ? -1 : 0;
}

/* Search with "charset keys..." (SORT and THREAD); -1 with the reply set. */
int imap_sort_search(struct imap_session *sess, const struct imap_arg *args, size_t nargs,
		     struct imap_search_result *r)
{
	struct imap_search *s = NULL;
	const char *charset, *error = NULL;
	bool badcharset;
	int rc;

	if (nargs < 2 || (charset = imap_arg_astring(&args[0])) == NULL) {
		imap_tagged(sess, "BAD Missing charset and search keys");
		return -1;
	}
	if (imap_search_parse(sess, args + 1, nargs - 1, charset, &s, &badcharset, &error) < 0) {
		if (badcharset)
			imap_tagged(sess, "NO [BADCHARSET (UTF-8 US-ASCII)] %s", error);
		else
			imap_tagged(sess, "BAD %s", error);
		return -1;
	}
	rc = imap_search_run(sess, s, true, r, &error);
	imap_search_free(&s);
	if (rc != STORE_OK) {
		imap_tagged_store_error(sess, rc, error);
		return -1;
	}
	return 0;
}

void imap_cmd_sort(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	struct sort_criteria crit;
	struct imap_search_result r;
	struct sort_msg *msgs;
	struct sbuf line = {0};

	if (nargs < 3 || parse_criteria(&args[0], &crit) < 0) {
		imap_tagged(sess, "BAD Syntax: SORT (criteria) charset search-keys");
		return;
	}
	if (imap_sort_search(sess, args + 1, nargs - 1, &r) < 0)
		return;
	msgs = imap_sort_load(sess, &r);
	if (r.n > 1)
		qsort_r(msgs, r.n, sizeof(*msgs), compare, &crit);
	sbuf_append_str(&line, "SORT");
	for (size_t i = 0; i < r.n; i++)
		sbuf_appendf(&line, " %u", msgs[i].id);
	imap_untagged(sess, "%s", sbuf_str(&line));
	sbuf_free(&line);
	imap_sort_free(msgs, r.n);
	imap_search_result_free(&r);
}
