/*
 * imap_search_parse.c: SEARCH keys into a program (see imap_search.h):
 * every key of RFC 3501 6.4.4, MODSEQ (RFC 7162 3.1.5) and $ (RFC 5182).
 * Strings are converted from the CHARSET to UTF-8 and case-folded once
 * here. Trust: the keys come from the client; nesting is bounded by the
 * parser's list depth and NOT/OR chains by the argument count.
 */
#include "imap_search_private.h"

#include "imap_view.h"
#include "mime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* NOT and OR may nest as deep as this (each is one C call frame). */
#define SEARCH_MAX_DEPTH 64

struct pctx {
	struct imap_session *sess;
	const char *charset; /* NULL: UTF-8 */
	const char *error;
	bool badcharset;
	unsigned int needs;
	bool has_modseq;
	unsigned int depth;
};

static void skey_clear(struct skey *k)
{
	for (size_t i = 0; i < k->nkids; i++)
		skey_clear(&k->kids[i]);
	free(k->kids);
	imap_seqset_clear(&k->set);
	free(k->str);
	free(k->field);
	memset(k, 0, sizeof(*k));
}

void imap_search_free(struct imap_search **sp)
{
	if (*sp == NULL)
		return;
	skey_clear(&(*sp)->root);
	free(*sp);
	*sp = NULL;
}

bool imap_search_has_modseq(const struct imap_search *s)
{
	return s->has_modseq;
}

static struct skey *add_kid(struct skey *parent)
{
	struct skey *k;

	parent->kids = xrealloc(parent->kids, (parent->nkids + 1) * sizeof(*parent->kids));
	k = &parent->kids[parent->nkids++];
	memset(k, 0, sizeof(*k));
	return k;
}

/* A search string: converted to UTF-8 and case-folded. */
static int take_string(struct pctx *c, const struct imap_arg *a, struct skey *k)
{
	const char *s = imap_arg_astring(a);
	struct sbuf utf8 = {0}, folded = {0};

	if (s == NULL) {
		c->error = "Invalid search string";
		return -1;
	}
	if (c->charset != NULL) {
		if (mime_charset_to_utf8(c->charset, s, strlen(s), &utf8) < 0) {
			sbuf_free(&utf8);
			c->badcharset = true;
			c->error = "Unknown charset";
			return -1;
		}
	} else {
		mime_utf8_sanitize(s, strlen(s), &utf8);
	}
	imap_casefold(sbuf_str(&utf8), utf8.len, &folded);
	sbuf_free(&utf8);
	k->str = folded.data != NULL ? folded.data : xstrdup("");
	k->len = folded.len;
	return 0;
}

/* RFC 3501 9: date = date-text / DQUOTE date-text DQUOTE; "1-Feb-1994"; days since 1970. */
static int take_date(struct pctx *c, const struct imap_arg *a, struct skey *k)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *s = imap_arg_astring(a), *m;
	char mon[4];
	int day, year, n = 0;
	struct tm tm;

	if (s == NULL || sscanf(s, "%2d-%3[A-Za-z]-%4d%n", &day, mon, &year, &n) != 3 ||
	    s[n] != '\0' || day < 1 || day > 31 || year < 1900) {
		c->error = "Invalid date";
		return -1;
	}
	mon[0] = (char)(mon[0] & ~0x20);
	mon[1] = (char)(mon[1] | 0x20);
	mon[2] = (char)(mon[2] | 0x20);
	m = strstr(months, mon);
	if (strlen(mon) != 3 || m == NULL || (m - months) % 3 != 0) {
		c->error = "Invalid date";
		return -1;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_mday = day;
	tm.tm_mon = (int)((m - months) / 3);
	tm.tm_year = year - 1900;
	k->num = (int64_t)timegm(&tm) / 86400;
	return 0;
}

static int parse_key(struct pctx *c, const struct imap_arg *args, size_t nargs, size_t *i,
		     struct skey *k);

/* Keys until the end of args, ANDed into k. */
static int parse_keys(struct pctx *c, const struct imap_arg *args, size_t nargs, struct skey *k)
{
	size_t i = 0;

	k->type = SK_AND;
	if (nargs == 0) {
		c->error = "Missing search key";
		return -1;
	}
	while (i < nargs) {
		if (parse_key(c, args, nargs, &i, add_kid(k)) < 0)
			return -1;
	}
	return 0;
}

static const struct {
	const char *name;
	unsigned int flag;
	bool negate;
} flag_keys[] = {
    {"ANSWERED", STORE_FLAG_ANSWERED, false},  {"DELETED", STORE_FLAG_DELETED, false},
    {"DRAFT", STORE_FLAG_DRAFT, false},        {"FLAGGED", STORE_FLAG_FLAGGED, false},
    {"SEEN", STORE_FLAG_SEEN, false},          {"UNANSWERED", STORE_FLAG_ANSWERED, true},
    {"UNDELETED", STORE_FLAG_DELETED, true},   {"UNDRAFT", STORE_FLAG_DRAFT, true},
    {"UNFLAGGED", STORE_FLAG_FLAGGED, true},   {"UNSEEN", STORE_FLAG_SEEN, true},
};

static const struct {
	const char *name;
	enum skey_type type;
} date_keys[] = {
    {"BEFORE", SK_BEFORE},         {"ON", SK_ON},         {"SINCE", SK_SINCE},
    {"SENTBEFORE", SK_SENTBEFORE}, {"SENTON", SK_SENTON}, {"SENTSINCE", SK_SENTSINCE},
};

/* The argument after a key name, or an error. */
static const struct imap_arg *next_arg(struct pctx *c, const struct imap_arg *args, size_t nargs,
				       size_t *i)
{
	if (*i >= nargs) {
		c->error = "Missing search argument";
		return NULL;
	}
	return &args[(*i)++];
}

static int parse_set(struct pctx *c, const struct imap_arg *a, bool uid, struct skey *k)
{
	const struct imap_view *v = c->sess->view;

	k->type = uid ? SK_UIDSET : SK_SEQSET;
	if (a->type != IMAP_ARG_ATOM) {
		c->error = "Invalid sequence set";
		return -1;
	}
	if (a->len == 1 && a->str[0] == '$') {
		/* RFC 5182 2.1: the saved result, as UIDs */
		k->type = SK_UIDSET;
		if (c->sess->saved_valid)
			imap_seqset_copy(&k->set, &c->sess->saved);
		return 0;
	}
	if (imap_seqset_parse(a->str, a->len, uid ? imap_view_max_uid(v) : (uint32_t)v->count,
			      &k->set) < 0) {
		c->error = "Invalid sequence set";
		return -1;
	}
	return 0;
}

static int parse_key(struct pctx *c, const struct imap_arg *args, size_t nargs, size_t *i,
		     struct skey *k)
{
	const struct imap_arg *a = &args[(*i)++], *x;
	const char *name;
	int rc = 0;

	if (a->type == IMAP_ARG_LIST) {
		if (++c->depth > SEARCH_MAX_DEPTH) {
			c->error = "Search keys nested too deep";
			return -1;
		}
		rc = parse_keys(c, a->list, a->count, k);
		c->depth--;
		return rc;
	}
	if (a->type != IMAP_ARG_ATOM) {
		c->error = "Invalid search key";
		return -1;
	}
	name = a->str;
	if ((name[0] >= '0' && name[0] <= '9') || name[0] == '*' || name[0] == '$')
		return parse_set(c, a, false, k);
	for (size_t f = 0; f < ARRAY_SIZE(flag_keys); f++) {
		if (strcasecmp(name, flag_keys[f].name) == 0) {
			k->type = SK_FLAG;
			k->flag = flag_keys[f].flag;
			k->negate = flag_keys[f].negate;
			return 0;
		}
	}
	for (size_t d = 0; d < ARRAY_SIZE(date_keys); d++) {
		if (strcasecmp(name, date_keys[d].name) == 0) {
			k->type = date_keys[d].type;
			if (k->type >= SK_SENTBEFORE)
				c->needs |= NEEDS_ENVELOPE;
			return (x = next_arg(c, args, nargs, i)) == NULL ? -1 : take_date(c, x, k);
		}
	}
	if (strcasecmp(name, "ALL") == 0) {
		k->type = SK_ALL;
	} else if (strcasecmp(name, "RECENT") == 0 || strcasecmp(name, "OLD") == 0 ||
		   strcasecmp(name, "NEW") == 0) {
		/* RFC 3501 6.4.4: OLD is NOT RECENT, NEW is RECENT UNSEEN */
		k->type = SK_RECENT;
		k->negate = name[0] == 'O' || name[0] == 'o';
		k->flag = name[0] == 'N' || name[0] == 'n' ? STORE_FLAG_SEEN : 0;
	} else if (strcasecmp(name, "KEYWORD") == 0 || strcasecmp(name, "UNKEYWORD") == 0) {
		k->type = SK_KEYWORD;
		k->negate = name[0] == 'U' || name[0] == 'u';
		if ((x = next_arg(c, args, nargs, i)) == NULL || x->type != IMAP_ARG_ATOM) {
			c->error = "Invalid keyword";
			return -1;
		}
		k->str = xstrdup(x->str);
	} else if (strcasecmp(name, "FROM") == 0 || strcasecmp(name, "TO") == 0 ||
		   strcasecmp(name, "CC") == 0 || strcasecmp(name, "BCC") == 0) {
		k->type = SK_ADDRESS;
		k->field = xstrdup(name);
		ascii_lower(k->field);
		c->needs |= NEEDS_ENVELOPE;
		rc = (x = next_arg(c, args, nargs, i)) == NULL ? -1 : take_string(c, x, k);
	} else if (strcasecmp(name, "SUBJECT") == 0) {
		k->type = SK_SUBJECT;
		c->needs |= NEEDS_ENVELOPE;
		rc = (x = next_arg(c, args, nargs, i)) == NULL ? -1 : take_string(c, x, k);
	} else if (strcasecmp(name, "HEADER") == 0) {
		const char *field;

		k->type = SK_HEADER;
		c->needs |= NEEDS_HEADER;
		if ((x = next_arg(c, args, nargs, i)) == NULL || (field = imap_arg_astring(x)) == NULL) {
			c->error = "Invalid header field name";
			return -1;
		}
		k->field = xstrdup(field);
		rc = (x = next_arg(c, args, nargs, i)) == NULL ? -1 : take_string(c, x, k);
	} else if (strcasecmp(name, "BODY") == 0 || strcasecmp(name, "TEXT") == 0) {
		k->type = strcasecmp(name, "BODY") == 0 ? SK_BODY : SK_TEXT;
		c->needs |= NEEDS_BODY | (k->type == SK_TEXT ? NEEDS_HEADER : 0);
		rc = (x = next_arg(c, args, nargs, i)) == NULL ? -1 : take_string(c, x, k);
	} else if (strcasecmp(name, "LARGER") == 0 || strcasecmp(name, "SMALLER") == 0) {
		k->type = strcasecmp(name, "LARGER") == 0 ? SK_LARGER : SK_SMALLER;
		if ((x = next_arg(c, args, nargs, i)) == NULL ||
		    (k->num = imap_arg_number(x, INT64_MAX)) < 0) {
			c->error = "Invalid size";
			return -1;
		}
	} else if (strcasecmp(name, "NOT") == 0 || strcasecmp(name, "OR") == 0) {
		bool is_or = strcasecmp(name, "OR") == 0;

		k->type = is_or ? SK_OR : SK_NOT;
		if (++c->depth > SEARCH_MAX_DEPTH) {
			c->error = "Search keys nested too deep";
			return -1;
		}
		for (int n = 0; n < (is_or ? 2 : 1) && rc == 0; n++) {
			if (*i >= nargs) {
				c->error = "Missing search key";
				rc = -1;
			} else {
				rc = parse_key(c, args, nargs, i, add_kid(k));
			}
		}
		c->depth--;
	} else if (strcasecmp(name, "UID") == 0) {
		rc = (x = next_arg(c, args, nargs, i)) == NULL ? -1 : parse_set(c, x, true, k);
	} else if (strcasecmp(name, "MODSEQ") == 0) {
		/* RFC 7162 3.1.5: MODSEQ ["entry-name" entry-type] mod-sequence */
		k->type = SK_MODSEQ;
		c->has_modseq = true;
		if (*i < nargs && args[*i].type == IMAP_ARG_STRING) {
			/* the per-flag entry: every flag shares the message's mod-sequence here */
			if (*i + 2 >= nargs) {
				c->error = "Invalid MODSEQ";
				return -1;
			}
			*i += 2;
		}
		if ((x = next_arg(c, args, nargs, i)) == NULL ||
		    (k->num = imap_arg_number(x, INT64_MAX)) < 0) {
			c->error = "Invalid MODSEQ";
			return -1;
		}
	} else {
		c->error = "Unknown search key";
		return -1;
	}
	return rc;
}

int imap_search_parse(struct imap_session *sess, const struct imap_arg *args, size_t nargs,
		      const char *charset, struct imap_search **s_r, bool *badcharset_r,
		      const char **error_r)
{
	struct imap_search *s = xcalloc(1, sizeof(*s));
	struct pctx c = {.sess = sess};

	if (charset != NULL && strcasecmp(charset, "UTF-8") != 0 &&
	    strcasecmp(charset, "US-ASCII") != 0)
		c.charset = charset;
	*badcharset_r = false;
	if (c.charset != NULL) {
		/* RFC 3501 6.4.4: an unknown charset is refused even with no string to convert */
		struct sbuf probe = {0};
		int known = mime_charset_to_utf8(c.charset, "", 0, &probe);

		sbuf_free(&probe);
		if (known < 0) {
			*badcharset_r = true;
			*error_r = "Unknown charset";
			imap_search_free(&s);
			return -1;
		}
	}
	if (parse_keys(&c, args, nargs, &s->root) < 0) {
		*error_r = c.error;
		*badcharset_r = c.badcharset;
		imap_search_free(&s);
		return -1;
	}
	s->needs = c.needs;
	s->has_modseq = c.has_modseq;
	*s_r = s;
	return 0;
}
