/*
 * imap_cmd_search.c: SEARCH and UID SEARCH (RFC 3501 6.4.4, RFC 9051
 * 6.4.4) with CHARSET, ESEARCH's RETURN options (RFC 4731: MIN, MAX, ALL,
 * COUNT), SEARCHRES's SAVE (RFC 5182) and CONDSTORE's MODSEQ (RFC 7162
 * 3.1.5). After ENABLE IMAP4rev2 a plain SEARCH answers with ESEARCH.
 * The criteria themselves are imap_search.h's.
 */
#include "imap_commands.h"

#include "imap_search.h"
#include "imap_view.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum ret_opts {
	RET_MIN = 1 << 0,
	RET_MAX = 1 << 1,
	RET_ALL = 1 << 2,
	RET_COUNT = 1 << 3,
	RET_SAVE = 1 << 4,
};

static int parse_return(const struct imap_arg *list, unsigned int *opts)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} names[] = {{"MIN", RET_MIN}, {"MAX", RET_MAX}, {"ALL", RET_ALL}, {"COUNT", RET_COUNT},
		     {"SAVE", RET_SAVE}};

	*opts = 0;
	for (size_t i = 0; i < list->count; i++) {
		size_t k;

		for (k = 0; k < ARRAY_SIZE(names); k++) {
			if (imap_arg_is_atom(&list->list[i], names[k].name))
				break;
		}
		if (k == ARRAY_SIZE(names))
			return -1;
		*opts |= names[k].bit;
	}
	/* RFC 4731 3.1: RETURN () means ALL */
	if (*opts == 0)
		*opts = RET_ALL;
	return 0;
}

/* The number the client knows a match by: UID for UID SEARCH, else its sequence number. */
static uint32_t match_id(const struct imap_session *sess, const struct imap_search_result *r,
			 size_t i)
{
	return sess->uid ? sess->view->msgs[r->idx[i]].uid : (uint32_t)r->idx[i] + 1;
}

/* RFC 5182 2.1: the saved result (as UIDs); SAVE with only MIN/MAX keeps those. */
static void save_result(struct imap_session *sess, const struct imap_search_result *r,
			unsigned int opts)
{
	const struct imap_view *v = sess->view;

	imap_seqset_clear(&sess->saved);
	sess->saved_valid = true;
	if (r->n == 0)
		return;
	if ((opts & (RET_MIN | RET_MAX)) && !(opts & (RET_ALL | RET_COUNT))) {
		if (opts & RET_MIN)
			imap_seqset_add(&sess->saved, v->msgs[r->idx[0]].uid, v->msgs[r->idx[0]].uid);
		if (opts & RET_MAX)
			imap_seqset_add(&sess->saved, v->msgs[r->idx[r->n - 1]].uid,
					v->msgs[r->idx[r->n - 1]].uid);
	} else {
		for (size_t i = 0; i < r->n; i++)
			imap_seqset_add(&sess->saved, v->msgs[r->idx[i]].uid, v->msgs[r->idx[i]].uid);
	}
	imap_seqset_normalize(&sess->saved);
}

static void send_esearch(struct imap_session *sess, const struct imap_search_result *r,
			 unsigned int opts, bool modseq)
{
	struct sbuf line = {0};

	sbuf_appendf(&line, "ESEARCH (TAG \"%s\")%s", sess->tag, sess->uid ? " UID" : "");
	if (r->n > 0 && (opts & RET_MIN))
		sbuf_appendf(&line, " MIN %u", match_id(sess, r, 0));
	if (r->n > 0 && (opts & RET_MAX))
		sbuf_appendf(&line, " MAX %u", match_id(sess, r, r->n - 1));
	if (opts & RET_COUNT)
		sbuf_appendf(&line, " COUNT %zu", r->n);
	if (r->n > 0 && (opts & RET_ALL)) {
		struct imap_seqset set = {0};

		for (size_t i = 0; i < r->n; i++)
			imap_seqset_add(&set, match_id(sess, r, i), match_id(sess, r, i));
		imap_seqset_normalize(&set);
		sbuf_append_str(&line, " ALL ");
		imap_seqset_format(&set, &line);
		imap_seqset_clear(&set);
	}
	if (modseq && r->n > 0)
		sbuf_appendf(&line, " MODSEQ %lld", (long long)r->max_modseq);
	imap_untagged(sess, "%s", sbuf_str(&line));
	sbuf_free(&line);
}

static void send_search(struct imap_session *sess, const struct imap_search_result *r, bool modseq)
{
	struct sbuf line = {0};

	sbuf_append_str(&line, "SEARCH");
	for (size_t i = 0; i < r->n; i++)
		sbuf_appendf(&line, " %u", match_id(sess, r, i));
	/* RFC 7162 3.1.5: the highest mod-sequence of what matched */
	if (modseq && r->n > 0)
		sbuf_appendf(&line, " (MODSEQ %lld)", (long long)r->max_modseq);
	imap_untagged(sess, "%s", sbuf_str(&line));
	sbuf_free(&line);
}

void imap_cmd_search(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	struct imap_search_result r;
	struct imap_search *s = NULL;
	const char *charset = NULL, *error = NULL;
	unsigned int opts = 0;
	bool esearch = false, badcharset, modseq;
	size_t i = 0;
	int rc;

	if (i + 1 < nargs && imap_arg_is_atom(&args[i], "RETURN") && args[i + 1].type == IMAP_ARG_LIST) {
		if (parse_return(&args[i + 1], &opts) < 0) {
			imap_tagged(sess, "BAD Invalid RETURN options");
			goto failed;
		}
		esearch = true;
		i += 2;
	}
	if (i + 1 < nargs && imap_arg_is_atom(&args[i], "CHARSET")) {
		charset = imap_arg_astring(&args[i + 1]);
		/* RFC 6855 3: after UTF8=ACCEPT only UTF-8 */
		if (charset == NULL || (imap_utf8_names(sess) && strcasecmp(charset, "UTF-8") != 0)) {
			imap_tagged(sess, "BAD Invalid CHARSET");
			goto failed;
		}
		i += 2;
	}
	if (imap_search_parse(sess, args + i, nargs - i, charset, &s, &badcharset, &error) < 0) {
		if (badcharset)
			imap_tagged(sess, "NO [BADCHARSET (UTF-8 US-ASCII)] %s", error);
		else
			imap_tagged(sess, "BAD %s", error);
		goto failed;
	}
	modseq = imap_search_has_modseq(s);
	if (modseq)
		sess->enabled |= IMAP_ENABLED_CONDSTORE;
	rc = imap_search_run(sess, s, false, &r, &error);
	imap_search_free(&s);
	if (rc != STORE_OK) {
		imap_tagged_store_error(sess, rc, error);
		goto failed;
	}
	if (opts & RET_SAVE)
		save_result(sess, &r, opts);
	if (!esearch && (sess->enabled & IMAP_ENABLED_REV2)) {
		/* RFC 9051 6.4.4: IMAP4rev2 answers with ESEARCH */
		esearch = true;
		opts = RET_ALL;
	}
	if (!esearch)
		send_search(sess, &r, modseq);
	else if (opts != RET_SAVE) /* RFC 5182 2.1: SAVE alone sends no ESEARCH */
		send_esearch(sess, &r, opts, modseq);
	imap_search_result_free(&r);
	return;
failed:
	/* RFC 5182 2.1: a failed SEARCH ... SAVE leaves an empty saved result */
	if (opts & RET_SAVE) {
		imap_seqset_clear(&sess->saved);
		sess->saved_valid = true;
	}
}
