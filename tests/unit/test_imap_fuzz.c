/*
 * test_imap_fuzz.c: randomized robustness tests of what sluice-imapd reads
 * from clients: the command parser (imapd/imap_parser.c: literals {n},
 * {n+}, ~{n}, quoted strings, lists, limits), imap_parser_parse_values, and
 * the argument parsers that need no live session: FETCH items
 * (imap_fetch_parse), sequence sets (imap_seqset_parse, checked against a
 * plain reference), modified UTF-7 (imap_utf7), SEARCH keys (over a fake
 * selected view), flag lists, STATUS items and the QRESYNC parameter.
 * Inputs are random strings over the bytes that matter and mutations of
 * valid commands, each fed whole, one byte at a time and in random chunks:
 * the events must be the same, every status a documented one, every event
 * at a line end, every success walked to its last byte and within limits.
 * The generator is seeded (xorshift): a failure reproduces. Environment:
 * SLUICE_FUZZ_ITERATIONS=n runs n rounds (default 15000; the other loops
 * scale with it), SLUICE_FUZZ_SEED=n another sequence. Run under ASan+UBSan.
 */
#include "imap_commands.h"
#include "imap_fetch.h"
#include "imap_parser.h"
#include "imap_qresync.h"
#include "imap_search.h"
#include "imap_seqset.h"
#include "imap_utf7.h"
#include "imap_view.h"
#include "util.h"

#include "fuzz.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_ROUNDS 15000
/* A parse of a few hundred bytes taking this long is a hang. */
#define MAX_CASE_MS 3000
/* imap_fetch_parse.c: FETCH_MAX_SECTIONS, FETCH_MAX_FIELDS */
#define FETCH_SECTIONS_MAX 64
#define FETCH_FIELDS_MAX 256

/* A stateless hash: per-literal decisions that do not depend on the chunking. */
static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t x = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return x;
}

/* --- inputs --- */

/* Valid (and a few nearly valid) commands: the seeds of the mutations. */
static const struct {
	const char *s;
	size_t len; /* 0: strlen */
} corpus[] = {
    {"a1 NOOP\r\n", 0},
    {"a2 LOGIN joe \"se\\\"cr\\\\et\"\r\n", 0},
    {"a3 LOGIN {3}\r\njoe {6+}\r\nsecret\r\n", 0},
    {"a4 FETCH 1:*,7 (FLAGS UID BODY.PEEK[HEADER.FIELDS (From \"To\" Subject)]<0.100> "
     "BODYSTRUCTURE)\r\n", 0},
    {"a5 UID FETCH 1:4 (BODY[1.2.MIME] BINARY.PEEK[2] BINARY.SIZE[1] RFC822.SIZE) "
     "(CHANGEDSINCE 12345 VANISHED)\r\n", 0},
    {"a6 FETCH 2 (BODY[] BODY[TEXT]<5.10> BODY[1.HEADER] BODY[HEADER.FIELDS.NOT (Received)] "
     "RFC822.HEADER ENVELOPE)\r\n", 0},
    {"a7 SEARCH CHARSET UTF-8 OR (SEEN FROM \"joe\") NOT (DELETED LARGER 1000) SUBJECT {5}\r\n"
     "hello UID 1:*\r\n", 0},
    {"a8 SEARCH 1,3:5 HEADER X-Spam yes SINCE 1-Feb-2024 MODSEQ \"/flags/\\\\Seen\" all 20 "
     "KEYWORD $Junk\r\n", 0},
    {"a9 STORE 1:3 +FLAGS.SILENT (\\Seen \\Flagged $Label1)\r\n", 0},
    {"b1 APPEND Drafts (\\Draft) \"7-Feb-1994 21:52:25 -0800\" {12}\r\nHello world!\r\n", 0},
    {"b2 APPEND INBOX ~{5+}\r\na\0b\r\n\r\n", 25},
    {"b3 STATUS &AOk-t&AOk- (MESSAGES UIDNEXT UNSEEN HIGHESTMODSEQ)\r\n", 0},
    {"b4 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541 (1:5 10:14)))\r\n", 0},
    {"b5 LIST \"\" \"%/&ZeVnLIqe-\"\r\n", 0},
    {"b6 CREATE \"[Gmail]/Sent &- Mail\"\r\n", 0},
    {"b7 ID (\"name\" \"x\" \"version\" NIL)\r\n", 0},
    {"b8 ENABLE QRESYNC CONDSTORE\r\n", 0},
    {"b9 UID EXPUNGE 3:5,9\r\n", 0},
    {"c1 SORT (REVERSE DATE SUBJECT) UTF-8 ALL\r\n", 0},
    {"c2 THREAD REFERENCES UTF-8 (SINCE 1-Jan-2020 TEXT {3+}\r\nabc)\r\n", 0},
    {"c3 COPY 2:4 \"Other folder\"\r\n", 0},
    {"c4 X-CUSTOM ((((a)))) b\r\n", 0},
    {"c5 FETCH 1 (BODY[HEADER.FIELDS ({4}\r\nFrom)])\r\n", 0},
    {"c6 SETQUOTA \"\" (STORAGE 512)\r\n", 0},
    {"c7 APPEND box {0}\r\n\r\n", 0},
    {"c8 UID SEARCH RETURN (SAVE) 1:*\r\nc9 SEARCH $ NOT OLD\r\n", 0},
    {"d1 FETCH 1 BINARY[1]<0.4294967295> (CHANGEDSINCE 1)\r\n", 0},
    {"d2 SEARCH OR OR NOT NEW ANSWERED BCC {2+}\r\nab SENTON 3-Mar-2003\n", 0},
    {"d3 X ) {5+}\r\nab\r\nc trailing\r\nd4 NOOP\r\n", 0},
};

static const char single_bytes[] = "{}+-~0123456789\"\\ ()[]<>.*:,$%&\r\nABCabcXYZxyz";

static const char *const tokens[] = {
    "BODY[", "BODY.PEEK[", "BINARY[", "BINARY.PEEK[", "BINARY.SIZE[", "HEADER.FIELDS (",
    "HEADER.FIELDS.NOT (", "HEADER", "TEXT", "MIME", "]", "<0.10>", "<4294967295.4294967295>",
    "<9999999999999999999.1>", "{0}\r\n", "{5}\r\n", "{3+}\r\n", "{2-}\r\n", "~{4}\r\n",
    "~{1+}\r\n", "{99999999999999999999+}\r\n", "{00000000000000000000000000000000000003+}\r\n",
    "\r\n", "\n", "a1 ", "FETCH ", "UID ", "SEARCH ", "NIL", "\"x\"", "\"\"", "\\Seen", "1:*",
    "4294967295", "4294967296", "9999999999999999999", "CHANGEDSINCE ", "VANISHED", "&AOk-",
    "&-", "&", "(", ")", "OR ", "NOT ", "UID FETCH ", "1.2.3", "*:4,7", "$", "MODSEQ ",
    "(QRESYNC (1 2 1:5 (1 2)))", "(MESSAGES UIDNEXT)", "\\Recent", "KEYWORD ",
};

/* One piece of random input: a byte from the alphabet, a token, or any byte. */
static void add_piece(struct sbuf *b)
{
	size_t k = rnd(100);

	if (k < 55) {
		sbuf_append(b, &single_bytes[rnd(sizeof(single_bytes) - 1)], 1);
	} else if (k < 85) {
		sbuf_append_str(b, tokens[rnd(ARRAY_SIZE(tokens))]);
	} else if (k < 90) {
		sbuf_append(b, "", 1);
	} else {
		unsigned char c = (unsigned char)(k < 95 ? 0x80 + rnd(0x80) : rnd(256));

		sbuf_append(b, &c, 1);
	}
}

static void random_input(struct sbuf *b)
{
	size_t n = 1 + rnd(rnd(4) == 0 ? 200 : 40);

	if (rnd(2) == 0)
		sbuf_appendf(b, "t%zu %s ", rnd(100), rnd(2) ? "FETCH 1" : "X");
	for (size_t i = 0; i < n; i++)
		add_piece(b);
	if (rnd(3) != 0)
		sbuf_append_str(b, "\r\n");
}

/* Apply 1 to 4 random edits: flips, insertions, deletions, truncation, repeats, splices. */
static void mutate(struct sbuf *b)
{
	size_t edits = 1 + rnd(4);

	sbuf_append(b, "", 0); /* data is never NULL below */
	for (size_t e = 0; e < edits; e++) {
		size_t len = b->len, at = rnd(len + 1), span = 1 + rnd(rnd(3) == 0 ? 64 : 8);
		struct sbuf t = {0};

		switch (rnd(8)) {
		case 0: /* flip a bit */
			if (len > 0)
				b->data[rnd(len)] ^= (char)(1u << rnd(8));
			break;
		case 1: /* replace a byte */
			if (len > 0)
				b->data[rnd(len)] = single_bytes[rnd(sizeof(single_bytes) - 1)];
			break;
		case 2: /* insert a piece */
		case 3:
			sbuf_append(&t, b->data, at);
			add_piece(&t);
			sbuf_append(&t, b->data + at, len - at);
			sbuf_free(b);
			*b = t;
			break;
		case 4: /* delete a span */
			if (at + span > len)
				span = len - at;
			memmove(b->data + at, b->data + at + span, len - at - span);
			b->len -= span;
			b->data[b->len] = '\0';
			break;
		case 5: /* truncate */
			b->len = at;
			if (b->data != NULL)
				b->data[at] = '\0';
			break;
		case 6: /* repeat a span */
			if (at + span > len)
				span = len - at;
			sbuf_append(&t, b->data, at + span);
			sbuf_append(&t, b->data + at, len - at);
			sbuf_free(b);
			*b = t;
			break;
		default: { /* splice in a span of another command */
			size_t c = rnd(ARRAY_SIZE(corpus));
			size_t clen = corpus[c].len != 0 ? corpus[c].len : strlen(corpus[c].s);
			size_t from = rnd(clen), n = 1 + rnd(clen - from);

			sbuf_append(&t, b->data, at);
			sbuf_append(&t, corpus[c].s + from, n);
			sbuf_append(&t, b->data + at, len - at);
			sbuf_free(b);
			*b = t;
			break;
		}
		}
	}
}

static void corpus_input(struct sbuf *b)
{
	size_t c = rnd(ARRAY_SIZE(corpus));

	sbuf_append(b, corpus[c].s, corpus[c].len != 0 ? corpus[c].len : strlen(corpus[c].s));
	if (rnd(4) == 0) {
		size_t d = rnd(ARRAY_SIZE(corpus));

		sbuf_append(b, corpus[d].s, corpus[d].len != 0 ? corpus[d].len : strlen(corpus[d].s));
	}
}

/* --- the fake session SEARCH needs: a selected view of five messages --- */

static struct imap_view_msg fake_msgs[] = {
    {.uid = 3}, {.uid = 5}, {.uid = 9}, {.uid = 10}, {.uid = 20},
};
static struct imap_view fake_view = {.msgs = fake_msgs, .count = 5, .cap = 5};
static struct imap_range fake_saved_r[] = {{1, 3}};
static struct imap_session fake_sess = {
    .view = &fake_view, .saved = {.r = fake_saved_r, .n = 1, .cap = 1}, .saved_valid = true};

/* --- argument checks --- */

static const struct imap_parser_limits limit_sets[] = {
    {.max_line = 200, .max_command = 1000, .max_skip = 100, .max_depth = 4, .max_args = 30},
    {.max_line = 16, .max_command = 48, .max_skip = 6, .max_depth = 1, .max_args = 4},
    {.max_line = 8192, .max_command = 65536, .max_skip = 4096, .max_depth = 64,
     .max_args = 5000},
    /* a command limit below the line limit: lines alone can pass it */
    {.max_line = 100, .max_command = 30, .max_skip = 10, .max_depth = 3, .max_args = 10},
};

static bool atom_char(unsigned char c)
{
	return c > 0x20 && c != 0x7f && c != '(' && c != ')' && c != '{' && c != '"';
}

static bool tag_char(unsigned char c)
{
	return atom_char(c) && c != '+' && c < 0x80 && c != '%' && c != '*' && c != '\\';
}

/* The number the parser must see in an atom: 1 to 19 digits up to max, else -1. */
static int64_t ref_number(const char *s, size_t len, int64_t max)
{
	uint64_t v = 0;

	if (len == 0 || len > 19)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0'); /* 19 digits fit in 64 bits */
	}
	return v <= (uint64_t)max ? (int64_t)v : -1;
}

struct walk {
	const struct imap_parser_limits *lim;
	size_t nodes;
	size_t nstreamed;
	unsigned long sum; /* every byte read, so none is skipped */
};

/* Walk parsed arguments to their last byte, checking what the header promises. */
static void walk_args(struct walk *w, const struct imap_arg *a, size_t count, unsigned int depth)
{
	CHECK(count == 0 || a != NULL);
	for (size_t i = 0; i < count; i++) {
		const struct imap_arg *x = &a[i];

		w->nodes++;
		if (x->type == IMAP_ARG_LIST) {
			CHECK_UINT(depth, <, w->lim->max_depth);
			CHECK(x->count == 0 || x->list != NULL);
			CHECK(!imap_arg_is_atom(x, "NIL"));
			CHECK(imap_arg_astring(x) == NULL);
			walk_args(w, x->list, x->count, depth + 1);
			continue;
		}
		CHECK(x->str != NULL);
		if (x->type == IMAP_ARG_STREAMED) {
			/* the bytes went to the caller: len is their count, str is "" */
			CHECK_UINT(x->stream_index, <, w->nstreamed);
			CHECK(strcmp(x->str, "") == 0);
			CHECK(imap_arg_astring(x) == NULL);
			continue;
		}
		CHECK_INT(x->str[x->len], ==, '\0');
		for (size_t k = 0; k < x->len; k++)
			w->sum += (unsigned char)x->str[k];
		switch (x->type) {
		case IMAP_ARG_ATOM:
			CHECK_UINT(x->len, >=, 1);
			CHECK_UINT(x->len, <=, w->lim->max_line);
			CHECK_UINT(strlen(x->str), ==, x->len);
			CHECK(atom_char((unsigned char)x->str[0]));
			CHECK(memchr(x->str, '\r', x->len) == NULL && memchr(x->str, '\n', x->len) == NULL);
			if (memchr(x->str, '[', x->len) == NULL) {
				for (size_t k = 0; k < x->len; k++)
					CHECK(atom_char((unsigned char)x->str[k]));
			}
			CHECK_INT(imap_arg_number(x, INT64_MAX), ==, ref_number(x->str, x->len, INT64_MAX));
			CHECK_INT(imap_arg_number(x, UINT32_MAX), ==, ref_number(x->str, x->len, UINT32_MAX));
			CHECK(imap_arg_astring(x) == x->str);
			CHECK(imap_arg_string(x) == NULL);
			break;
		case IMAP_ARG_STRING:
			CHECK_UINT(x->len, <=, w->lim->max_line);
			CHECK_UINT(strlen(x->str), ==, x->len);
			CHECK(memchr(x->str, '\r', x->len) == NULL && memchr(x->str, '\n', x->len) == NULL);
			CHECK(imap_arg_string(x) == x->str);
			CHECK_INT(imap_arg_number(x, INT64_MAX), ==, -1);
			break;
		case IMAP_ARG_LITERAL:
			CHECK_UINT(x->len, <=, w->lim->max_command);
			if (!x->literal8)
				CHECK_UINT(strlen(x->str), ==, x->len);
			CHECK(imap_arg_astring(x) == NULL || strlen(x->str) == x->len);
			break;
		default:
			ck_abort_msg("argument of type %d", (int)x->type);
		}
	}
	CHECK_UINT(w->nodes, <=, w->lim->max_args);
}

/* Append bytes printable and unambiguous. */
static void dump_bytes(struct sbuf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '\\')
			sbuf_appendf(out, "\\x%02x", c);
		else
			sbuf_append(out, &s[i], 1);
	}
}

static void dump_args(const struct imap_arg *a, size_t n, struct sbuf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			sbuf_append_str(out, " ");
		switch (a[i].type) {
		case IMAP_ARG_ATOM:
			dump_bytes(out, a[i].str, a[i].len);
			break;
		case IMAP_ARG_STRING:
			sbuf_append_str(out, "\"");
			dump_bytes(out, a[i].str, a[i].len);
			sbuf_append_str(out, "\"");
			break;
		case IMAP_ARG_LITERAL:
			sbuf_appendf(out, "%s{%zu}", a[i].literal8 ? "~" : "", a[i].len);
			dump_bytes(out, a[i].str, a[i].len);
			break;
		case IMAP_ARG_LIST:
			sbuf_append_str(out, "(");
			dump_args(a[i].list, a[i].count, out);
			sbuf_append_str(out, ")");
			break;
		case IMAP_ARG_STREAMED:
			sbuf_appendf(out, "<S%zu %zu%s>", a[i].stream_index, a[i].len,
				     a[i].literal8 ? " 8" : "");
			break;
		}
	}
}

/* Write arguments back as a client would send them (no streamed ones); false if impossible. */
static bool serialize_args(const struct imap_arg *a, size_t n, struct sbuf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			sbuf_append_str(out, " ");
		switch (a[i].type) {
		case IMAP_ARG_ATOM:
			sbuf_append(out, a[i].str, a[i].len);
			break;
		case IMAP_ARG_STRING:
			sbuf_append_str(out, "\"");
			for (size_t k = 0; k < a[i].len; k++) {
				if (a[i].str[k] == '"' || a[i].str[k] == '\\')
					sbuf_append_str(out, "\\");
				sbuf_append(out, &a[i].str[k], 1);
			}
			sbuf_append_str(out, "\"");
			break;
		case IMAP_ARG_LITERAL:
			sbuf_appendf(out, "%s{%zu}\r\n", a[i].literal8 ? "~" : "", a[i].len);
			sbuf_append(out, a[i].str, a[i].len);
			break;
		case IMAP_ARG_LIST:
			sbuf_append_str(out, "(");
			if (!serialize_args(a[i].list, a[i].count, out))
				return false;
			sbuf_append_str(out, ")");
			break;
		case IMAP_ARG_STREAMED:
			return false;
		}
	}
	return true;
}

/* Sequence sets against a plain reading of RFC 3501 9 (with '*' = star, 0 meaning none). */
struct ref_range {
	uint64_t lo, hi;
};

static int ref_seq_number(const char *s, size_t len, uint32_t star, uint64_t *v)
{
	uint64_t n = 0;

	if (len == 1 && s[0] == '*') {
		*v = star;
		return 0;
	}
	if (len == 0 || len > 10 || s[0] < '1' || s[0] > '9')
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	if (n > UINT32_MAX)
		return -1;
	*v = n;
	return 0;
}

/* -1 when not a sequence set; else the ranges in *r (caller frees). */
static int ref_seqset(const char *s, size_t len, uint32_t star, struct ref_range **r, size_t *n)
{
	size_t start = 0;

	*r = NULL;
	*n = 0;
	if (len == 0)
		return -1;
	while (start <= len) {
		const char *comma = memchr(s + start, ',', len - start);
		size_t end = comma != NULL ? (size_t)(comma - s) : len;
		const char *colon = memchr(s + start, ':', end - start);
		uint64_t lo, hi;

		if (colon == NULL) {
			if (ref_seq_number(s + start, end - start, star, &lo) < 0)
				goto bad;
			hi = lo;
		} else if (ref_seq_number(s + start, (size_t)(colon - s) - start, star, &lo) < 0 ||
			   ref_seq_number(colon + 1, end - (size_t)(colon - s) - 1, star, &hi) < 0) {
			goto bad;
		}
		if (lo != 0 || hi != 0) {
			if (lo == 0)
				lo = 1;
			if (hi == 0)
				hi = 1;
			*r = xrealloc(*r, (*n + 1) * sizeof(**r));
			(*r)[*n].lo = lo < hi ? lo : hi;
			(*r)[*n].hi = lo < hi ? hi : lo;
			(*n)++;
		}
		if (comma == NULL)
			return 0;
		start = end + 1;
	}
bad:
	free(*r);
	*r = NULL;
	*n = 0;
	return -1;
}

static bool ref_contains(const struct ref_range *r, size_t n, uint64_t v)
{
	for (size_t i = 0; i < n; i++) {
		if (v >= r[i].lo && v <= r[i].hi)
			return true;
	}
	return false;
}

static void check_seqset(const char *text, size_t len)
{
	static const uint32_t stars[] = {0, 1, 5, 20, UINT32_MAX - 1, UINT32_MAX};
	char *s = exact_copy(text, len);

	for (size_t si = 0; si < ARRAY_SIZE(stars); si++) {
		uint32_t star = stars[si];
		struct imap_seqset set = {0}, again = {0};
		struct ref_range *ref;
		size_t nref;
		struct sbuf fmt = {0};
		int want = ref_seqset(s, len, star, &ref, &nref), got;
		uint64_t samples[64], count = 0;
		size_t ns = 0;

		/* a set that already holds a range: appended to, or left alone on error */
		imap_seqset_add(&set, 7, 7);
		got = imap_seqset_parse(s, len, star, &set);
		CHECKF(got == want, "seqset \"%.*s\" star %u: got %d want %d", (int)len, s, star, got, want);
		if (got < 0) {
			CHECK_UINT(set.n, ==, 1);
			CHECK(set.r[0].lo == 7 && set.r[0].hi == 7);
			imap_seqset_clear(&set);
			continue;
		}
		ref = xrealloc(ref, (nref + 1) * sizeof(*ref));
		ref[nref].lo = ref[nref].hi = 7;
		nref++;
		for (size_t i = 0; i < set.n; i++) {
			CHECK_UINT(set.r[i].lo, >=, 1);
			CHECK_UINT(set.r[i].lo, <=, set.r[i].hi);
			/* sorted, disjoint, not adjacent */
			if (i > 0)
				CHECK_UINT((uint64_t)set.r[i].lo, >, (uint64_t)set.r[i - 1].hi + 1);
			count += (uint64_t)set.r[i].hi - set.r[i].lo + 1;
		}
		CHECK_UINT(imap_seqset_count(&set), ==, count);
		samples[ns++] = 0;
		samples[ns++] = 1;
		samples[ns++] = star;
		samples[ns++] = (uint64_t)star + 1;
		samples[ns++] = UINT32_MAX;
		samples[ns++] = rng() & 0xffffffffu;
		for (size_t i = 0; i < nref && ns + 4 <= ARRAY_SIZE(samples); i++) {
			samples[ns++] = ref[i].lo - 1;
			samples[ns++] = ref[i].lo;
			samples[ns++] = ref[i].hi;
			samples[ns++] = ref[i].hi + 1;
		}
		for (size_t i = 0; i < ns; i++) {
			if (samples[i] > UINT32_MAX)
				continue;
			CHECKF(imap_seqset_contains(&set, (uint32_t)samples[i]) ==
					      ref_contains(ref, nref, samples[i]), "seqset \"%.*s\" star %u: %llu", (int)len, s, star, (unsigned long long)samples[i]);
		}
		/* written back, it reads the same */
		imap_seqset_format(&set, &fmt);
		CHECK_INT(imap_seqset_parse(sbuf_str(&fmt), fmt.len, star, &again), ==, 0);
		CHECK_UINT(again.n, ==, set.n);
		CHECK(memcmp(again.r, set.r, set.n * sizeof(*set.r)) == 0);
		sbuf_free(&fmt);
		imap_seqset_clear(&again);
		imap_seqset_clear(&set);
		free(ref);
	}
	free(s);
}

/* Modified UTF-7 both ways; a name decodes to one spelling only. */
static void check_utf7(const char *text, size_t len)
{
	char *s = exact_copy(text, len);
	struct sbuf out = {0}, back = {0};

	sbuf_append_str(&out, "X");
	if (imap_utf7_to_utf8(s, len, &out) == 0) {
		CHECK(utf8_valid((const unsigned char *)out.data + 1, out.len - 1));
		CHECK_INT(imap_utf8_to_utf7(out.data + 1, out.len - 1, &back), ==, 0);
		CHECKF(back.len == len && memcmp(sbuf_str(&back), s, len) == 0, "utf7 \"%.*s\" comes back as \"%s\"", (int)len, s, sbuf_str(&back));
	} else {
		CHECK_UINT(out.len, ==, 1);
		CHECK_INT(out.data[1], ==, '\0');
	}
	sbuf_reset(&out);
	sbuf_reset(&back);
	sbuf_append_str(&out, "X");
	if (imap_utf8_to_utf7(s, len, &out) == 0) {
		CHECK(utf8_valid((const unsigned char *)s, len));
		for (size_t i = 1; i < out.len; i++)
			CHECK(out.data[i] >= 0x20 && out.data[i] < 0x7f);
		CHECK_INT(imap_utf7_to_utf8(out.data + 1, out.len - 1, &back), ==, 0);
		CHECK(back.len == len && memcmp(sbuf_str(&back), s, len) == 0);
	} else {
		CHECK(!utf8_valid((const unsigned char *)s, len));
		CHECK_UINT(out.len, ==, 1);
	}
	sbuf_free(&out);
	sbuf_free(&back);
	free(s);
}

static void check_fetch_request(const struct fetch_request *req, bool uid)
{
	CHECK_UINT(req->nsections, <=, FETCH_SECTIONS_MAX);
	if (uid)
		CHECK(req->bits & FETCH_UID);
	if (req->vanished)
		CHECK(uid && req->changedsince >= 0);
	for (size_t i = 0; i < req->nsections; i++) {
		const struct fetch_section *s = &req->sections[i];

		CHECK(s->name != NULL);
		CHECK(strncmp(s->name, "BODY[", 5) == 0 || strncmp(s->name, "BINARY[", 7) == 0 ||
			  strncmp(s->name, "BINARY.SIZE[", 12) == 0 || strncmp(s->name, "RFC822", 6) == 0);
		CHECK_UINT(s->nparts, <=, FETCH_MAX_PART_DEPTH);
		for (size_t k = 0; k < s->nparts; k++)
			CHECK(s->part[k] >= 1 && s->part[k] <= 0x7fffffff);
		CHECK(s->spec >= SPEC_NONE && s->spec <= SPEC_MIME);
		if (s->spec == SPEC_MIME)
			CHECK_UINT(s->nparts, >=, 1);
		if (s->kind != SECTION_BODY)
			CHECK(s->spec == SPEC_NONE && s->nfields == 0);
		if (s->kind == SECTION_BINARY_SIZE)
			CHECK(!s->partial);
		if (s->spec == SPEC_HEADER_FIELDS || s->spec == SPEC_HEADER_FIELDS_NOT)
			CHECK(s->nfields >= 1 && s->nfields <= FETCH_FIELDS_MAX);
		else
			CHECK_UINT(s->nfields, ==, 0);
		for (size_t k = 0; k < s->nfields; k++) {
			CHECK_UINT(strlen(s->fields[k]), >=, 1);
			for (const char *c = s->fields[k]; *c != '\0'; c++)
				CHECK(*c > 32 && *c < 127 && *c != ':' && !(*c >= 'a' && *c <= 'z'));
		}
		if (s->partial)
			CHECK(s->length >= 1 && s->length <= UINT32_MAX && s->offset <= UINT32_MAX);
		if (!s->peek)
			CHECK(req->sets_seen);
	}
}

static void try_fetch(const struct imap_arg *args, size_t n, bool uid)
{
	struct fetch_request req;
	const char *error = NULL;

	if (imap_fetch_parse(args, n, uid, &req, &error) == 0)
		check_fetch_request(&req, uid);
	else
		CHECK(error != NULL);
	imap_fetch_request_free(&req);
}

static void try_search(const struct imap_arg *args, size_t n)
{
	static const char *const charsets[] = {NULL, "UTF-8", "ISO-8859-1", "KOI8-R", "X-NOPE"};
	struct imap_search *s = NULL;
	const char *error = NULL;
	bool badcharset = false;

	if (imap_search_parse(&fake_sess, args, n, charsets[rnd(ARRAY_SIZE(charsets))], &s,
			      &badcharset, &error) == 0) {
		CHECK(s != NULL);
		(void)imap_search_has_modseq(s);
		imap_search_free(&s);
		CHECK(s == NULL);
	} else {
		CHECK(error != NULL);
	}
}

/* Every parser that takes parsed arguments, on every place they could start. */
static void exercise_args(const struct imap_arg *args, size_t count, unsigned int depth)
{
	for (size_t i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];
		size_t rest = count - i;

		try_fetch(a, 1, false);
		if (rest >= 2)
			try_fetch(a, 2, true);
		if (depth == 0 && i < 3)
			try_search(a, rest);
		{
			struct imap_flag_list fl;

			if (imap_flag_list_parse(a, rest < 3 ? rest : 3, &fl) == 0) {
				CHECK_UINT(fl.nkeywords, <=, 64);
				for (size_t k = 0; k < fl.nkeywords; k++)
					CHECK_UINT(strlen(fl.keywords[k]), >=, 1);
				imap_flag_list_free(&fl);
			} else {
				CHECK_UINT(fl.nkeywords, ==, 0);
			}
		}
		if (a->type == IMAP_ARG_LIST) {
			struct imap_status_items items;
			struct imap_qresync_param q;

			if (imap_status_items_parse(a, &items) == 0) {
				CHECK(items.n >= 1 && items.n <= ARRAY_SIZE(items.item));
				for (size_t k = 0; k < items.n; k++)
					CHECK_INT(items.item[k], >=, 0);
			}
			if (imap_qresync_parse(a, &q) == 0)
				CHECK(q.uidvalidity >= 1 && q.modseq >= 1);
			imap_seqset_clear(&q.known);
			if (depth < 8)
				exercise_args(a->list, a->count, depth + 1);
			continue;
		}
		if (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_STRING ||
		    a->type == IMAP_ARG_LITERAL) {
			if (a->type == IMAP_ARG_ATOM)
				check_seqset(a->str, a->len);
			check_utf7(a->str, a->len);
		}
	}
}

/* --- driving the command parser --- */

enum chunking { CHUNK_WHOLE, CHUNK_BYTE, CHUNK_RANDOM };

struct drive {
	const struct imap_parser_limits *lim;
	const unsigned char *in;
	size_t len;
	enum chunking chunking;
	uint64_t chunk_seed, policy_seed;
	bool exercise;   /* run the argument parsers and the round trip on commands */
	bool accept_all; /* accept every literal (else: accept, refuse or stream by a hash) */
};

/* The tag and command name the parser reports must be the ones at the command's start. */
static void check_names(struct imap_parser *p, const unsigned char *cmd, size_t avail)
{
	const char *tag = imap_parser_tag(p), *name = imap_parser_command(p);
	size_t tlen, nlen;

	if (tag == NULL) {
		CHECK(name == NULL);
		return;
	}
	tlen = strlen(tag);
	CHECK_UINT(tlen, >=, 1);
	CHECK(tlen < avail && memcmp(cmd, tag, tlen) == 0);
	for (size_t i = 0; i < tlen; i++)
		CHECK(tag_char((unsigned char)tag[i]));
	if (name == NULL)
		return;
	nlen = strlen(name);
	CHECKF(nlen >= 1 && nlen < 32, "command name of %zu bytes", nlen);
	CHECK_INT(cmd[tlen], ==, ' ');
	CHECKF(tlen + 1 + nlen < avail &&
			      strncasecmp((const char *)cmd + tlen + 1, name, nlen) == 0 &&
			      (cmd[tlen + 1 + nlen] == ' ' || cmd[tlen + 1 + nlen] == '\r' ||
			       cmd[tlen + 1 + nlen] == '\n'), "command name \"%s\" is not the one sent: \"%.*s\"", name, (int)(avail < 48 ? avail : 48), (const char *)cmd);
	for (size_t i = 0; i < nlen; i++)
		CHECK((name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9') ||
			  name[i] == '-' || name[i] == '_' || name[i] == '.');
}

static char *run_parser(const struct drive *d);

/* A parsed command written back and parsed again gives the same arguments. */
static void round_trip(const struct imap_parser *p, const struct imap_arg *args, size_t count,
		       const char *want)
{
	static const struct imap_parser_limits big = {
	    .max_line = 1 << 20, .max_command = 1 << 22, .max_skip = 0, .max_depth = 64,
	    .max_args = 100000};
	struct sbuf text = {0};
	struct drive d = {.lim = &big, .chunking = CHUNK_WHOLE, .accept_all = true};
	char *got;

	sbuf_appendf(&text, "%s %s", imap_parser_tag(p), imap_parser_command(p));
	if (count > 0)
		sbuf_append_str(&text, " ");
	if (!serialize_args(args, count, &text)) {
		sbuf_free(&text);
		return;
	}
	sbuf_append_str(&text, "\r\n");
	d.in = (const unsigned char *)text.data;
	d.len = text.len;
	got = run_parser(&d);
	/* the same command, its literals announced again */
	CHECKF(strstr(got, want) != NULL && strstr(got, "[BAD") == NULL &&
			      strstr(got, "[FATAL") == NULL, "round trip of\n%s\ngives\n%s", want, got);
	sbuf_free(&text);
	free(got);
}

/* Feed d->in as d->chunking says; the events as text. */
static char *run_parser(const struct drive *d)
{
	struct imap_parser *p = imap_parser_create(d->lim);
	struct sbuf out = {0};
	uint64_t chunk_state = d->chunk_seed | 1;
	size_t pos = 0, cmd_start = 0, cmd_streamed = 0, nlit = 0;
	struct walk w = {.lim = d->lim};

	while (pos < d->len) {
		size_t n = d->len - pos, used = 0;
		enum imap_parse_result r;

		if (d->chunking == CHUNK_BYTE) {
			n = 1;
		} else if (d->chunking == CHUNK_RANDOM) {
			chunk_state = mix(chunk_state, pos);
			n = 1 + (size_t)(chunk_state % (chunk_state & 0x100 ? 64 : 5));
			if (n > d->len - pos)
				n = d->len - pos;
		}
		r = imap_parser_feed(p, d->in + pos, n, &used);
		CHECKF(r >= IMAP_PARSE_MORE && r <= IMAP_PARSE_FATAL, "status %d", (int)r);
		CHECK_UINT(used, <=, n);
		if (r == IMAP_PARSE_MORE) {
			CHECK_UINT(used, ==, n);
		} else if (r != IMAP_PARSE_FATAL) {
			/* an event only at the end of a line, which it consumed */
			CHECK_UINT(used, >=, 1);
			CHECK_INT(d->in[pos + used - 1], ==, '\n');
		}
		pos += used;
		switch (r) {
		case IMAP_PARSE_MORE:
			break;
		case IMAP_PARSE_LITERAL: {
			const struct imap_literal *lit = imap_parser_literal(p);
			uint64_t size = lit->size;
			bool sync = lit->sync, skipping = lit->skipping;
			unsigned int choice =
			    d->accept_all ? 0 : (unsigned int)(mix(d->policy_seed, nlit++) % 8);

			CHECK_UINT(lit->depth, <=, d->lim->max_depth);
			if (skipping) {
				CHECK(!sync && !lit->literal8);
				CHECK_UINT(size, <=, d->lim->max_skip);
			}
			sbuf_appendf(&out, "[LIT %llu%s%s%s d%u i%zu]", (unsigned long long)size,
				     sync ? "" : "+", lit->literal8 ? " 8" : "", skipping ? " skip" : "",
				     lit->depth, lit->top_index);
			if (choice >= 6 && !skipping) {
				/* the caller reads the bytes itself, as APPEND does */
				size_t take = size < d->len - pos ? (size_t)size : d->len - pos;

				pos += take;
				cmd_streamed += take;
				imap_parser_literal_streamed(p, w.nstreamed++);
				sbuf_append_str(&out, "[STREAMED]");
				break;
			}
			r = choice == 5 ? imap_parser_literal_skip(p, "Refused")
					: imap_parser_literal_accept(p);
			if (r == IMAP_PARSE_MORE) {
				/* taken, or skipped because the client sends it anyway */
				if (choice == 5 || skipping)
					CHECK(!sync);
				else
					CHECK(size <= d->lim->max_command || !sync);
				break;
			}
			if (r == IMAP_PARSE_ERROR) {
				CHECK(sync);
				check_names(p, d->in + cmd_start, d->len - cmd_start);
				sbuf_appendf(&out, "[REFUSED %s: %s]",
					     imap_parser_tag(p) != NULL ? imap_parser_tag(p) : "*",
					     imap_parser_error(p));
				imap_parser_reset(p);
				cmd_start = pos;
				cmd_streamed = 0;
				break;
			}
			CHECK_INT(r, ==, IMAP_PARSE_FATAL);
			CHECK(!sync && size > d->lim->max_skip);
			sbuf_appendf(&out, "[FATAL %s]", imap_parser_error(p));
			goto out;
		}
		case IMAP_PARSE_DONE: {
			size_t count;
			const struct imap_arg *args = imap_parser_args(p, &count);

			CHECK(imap_parser_tag(p) != NULL);
			CHECK(imap_parser_command(p) != NULL);
			check_names(p, d->in + cmd_start, d->len - cmd_start);
			/* lines and accepted literals within max_command */
			CHECK_UINT(pos - cmd_start - cmd_streamed, <=, d->lim->max_command);
			w.nodes = 0;
			walk_args(&w, args, count, 0);
			sbuf_appendf(&out, "[%s %s", imap_parser_tag(p), imap_parser_command(p));
			if (count > 0)
				sbuf_append_str(&out, " ");
			{
				size_t mark = out.len;

				dump_args(args, count, &out);
				if (d->exercise) {
					char *want = xstrndup(out.data + mark, out.len - mark);

					exercise_args(args, count, 0);
					round_trip(p, args, count, want);
					free(want);
				}
			}
			sbuf_append_str(&out, "]");
			imap_parser_reset(p);
			cmd_start = pos;
			cmd_streamed = 0;
			break;
		}
		case IMAP_PARSE_ERROR:
			CHECK(imap_parser_error(p) != NULL);
			check_names(p, d->in + cmd_start, d->len - cmd_start);
			sbuf_appendf(&out, "[BAD %s: %s]",
				     imap_parser_tag(p) != NULL ? imap_parser_tag(p) : "*",
				     imap_parser_error(p));
			imap_parser_reset(p);
			cmd_start = pos;
			cmd_streamed = 0;
			break;
		case IMAP_PARSE_FATAL:
			CHECK(imap_parser_error(p) != NULL);
			sbuf_appendf(&out, "[FATAL %s]", imap_parser_error(p));
			goto out;
		}
	}
	/* whatever is pending at the end of the input */
	sbuf_appendf(&out, "[END %s]", imap_parser_tag(p) != NULL ? imap_parser_tag(p) : "-");
out:
	imap_parser_destroy(&p);
	CHECK(p == NULL);
	return out.data != NULL ? out.data : xstrdup("");
}

/* One input under one set of limits: whole, byte by byte, two random chunkings, all alike. */
static void fuzz_one(const char *input, size_t len, const struct imap_parser_limits *lim)
{
	char *in = exact_copy(input, len);
	struct drive d = {.lim = lim, .in = (const unsigned char *)in, .len = len,
			  .policy_seed = rng()};
	int64_t start = monotonic_ms();
	char *want, *got;

	d.chunking = CHUNK_WHOLE;
	d.exercise = true;
	want = run_parser(&d);
	d.exercise = false;
	for (int c = 0; c < 3; c++) {
		d.chunking = c == 0 ? CHUNK_BYTE : CHUNK_RANDOM;
		d.chunk_seed = rng();
		got = run_parser(&d);
		CHECKF(strcmp(got, want) == 0, "chunking %d of\n%.*s\ngot  %s\nwant %s", c, (int)len, in, got, want);
		free(got);
	}
	CHECK_INT(monotonic_ms() - start, <, MAX_CASE_MS);
	free(want);
	free(in);
}

/* Bugs this test found, kept as fixed cases. */
START_TEST(test_regressions)
{
	static const struct {
		const char *input, *want;
	} cases[] = {
	    /* imap_parse_number: 19 digits overflowed int64 (UBSan) */
	    {"r1 FETCH 1 (BODY[]<9999999999999999999.1>)\r\n",
	     "[r1 FETCH 1 (BODY[]<9999999999999999999.1>)][END -]"},
	    {"r2 X ) {9999999999999999999+}\r\nr3 NOOP\r\n", "[FATAL Literal too large to skip]"},
	    /* a command name cut short by an error was reported with the previous one's tail */
	    {"r4 CAPABILITY\r\nr5 NO{OP\r\n", "[r4 CAPABILITY][BAD r5: Invalid command name][END -]"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct drive d = {.lim = &limit_sets[0], .in = (const unsigned char *)cases[i].input,
				  .len = strlen(cases[i].input), .exercise = true};
		char *got = run_parser(&d);

		CHECKF(strcmp(got, cases[i].want) == 0, "case %zu:\n got  %s\n want %s", i, got, cases[i].want);
		free(got);
	}
	/* a buffer of no values is parsed, not refused without a reason */
	{
		struct imap_parser *p = imap_parser_create(&limit_sets[0]);
		const char *error = NULL;
		size_t n = 99;

		CHECK(imap_parser_parse_values(p, " ", 1, &n, &error) != NULL);
		CHECK_UINT(n, ==, 0);
		CHECK(error == NULL);
		imap_parser_destroy(&p);
	}
	CHECK_INT(imap_parse_number("9999999999999999999", 19, INT64_MAX), ==, -1);
	CHECK_INT(imap_parse_number("9223372036854775807", 19, INT64_MAX), ==, INT64_MAX);
	CHECK_INT(imap_parse_number("9223372036854775808", 19, INT64_MAX), ==, -1);
}
END_TEST

START_TEST(test_corpus_whole)
{
	/* every seed as it is, under every set of limits */
	fuzz_seed(1);
	for (size_t c = 0; c < ARRAY_SIZE(corpus); c++) {
		for (size_t l = 0; l < ARRAY_SIZE(limit_sets); l++)
			fuzz_one(corpus[c].s, corpus[c].len != 0 ? corpus[c].len : strlen(corpus[c].s),
				 &limit_sets[l]);
	}
}
END_TEST

START_TEST(test_mutated_commands)
{
	unsigned long n = fuzz_rounds(DEFAULT_ROUNDS);

	fuzz_seed(2);
	for (unsigned long i = 0; i < n; i++) {
		struct sbuf b = {0};

		corpus_input(&b);
		mutate(&b);
		fuzz_one(sbuf_str(&b), b.len, &limit_sets[rnd(ARRAY_SIZE(limit_sets))]);
		sbuf_free(&b);
	}
}
END_TEST

START_TEST(test_random_commands)
{
	unsigned long n = fuzz_rounds(DEFAULT_ROUNDS);

	fuzz_seed(3);
	for (unsigned long i = 0; i < n; i++) {
		struct sbuf b = {0};

		random_input(&b);
		if (rnd(4) == 0)
			mutate(&b);
		fuzz_one(sbuf_str(&b), b.len, &limit_sets[rnd(ARRAY_SIZE(limit_sets))]);
		sbuf_free(&b);
	}
}
END_TEST

/* A random FETCH item, mostly well-formed. */
static void fetch_item(struct sbuf *b)
{
	static const char *const simple[] = {"FLAGS", "UID", "INTERNALDATE", "RFC822.SIZE",
					     "ENVELOPE", "BODYSTRUCTURE", "BODY", "MODSEQ",
					     "RFC822", "RFC822.HEADER", "RFC822.TEXT", "ALL", "X"};
	static const char *const kinds[] = {"BODY[", "BODY.PEEK[", "BINARY[", "BINARY.PEEK[",
					    "BINARY.SIZE[", "body.peek[", "BODY.PEEK"};
	static const char *const numbers[] = {"0", "1", "2", "3", "10", "007", "2147483647",
					      "2147483648", "4294967295", "4294967296",
					      "9999999999999999999", "18446744073709551616", ""};
	static const char *const specs[] = {"HEADER", "TEXT", "MIME", "HEADER.FIELDS",
					    "HEADER.FIELDS.NOT", "header.fields", "FOO", ""};
	static const char *const fields[] = {"From", "\"To\"", "X-Spam", "a:b", "\"\"", "{2}",
					     "NIL", "(x)", "Subject", "\"\\\\\""};

	if (rnd(4) == 0) {
		sbuf_append_str(b, simple[rnd(ARRAY_SIZE(simple))]);
		return;
	}
	sbuf_append_str(b, kinds[rnd(ARRAY_SIZE(kinds))]);
	for (size_t i = 0, n = rnd(rnd(8) == 0 ? 40 : 4); i < n; i++)
		sbuf_appendf(b, "%s%s", i > 0 ? "." : "", numbers[rnd(ARRAY_SIZE(numbers))]);
	if (rnd(2) == 0) {
		const char *spec = specs[rnd(ARRAY_SIZE(specs))];

		sbuf_appendf(b, "%s%s", b->data[b->len - 1] == '[' ? "" : ".", spec);
		if (strncasecmp(spec, "HEADER.FIELDS", 13) == 0) {
			size_t n = rnd(rnd(8) == 0 ? 300 : 4);

			sbuf_append_str(b, " (");
			for (size_t i = 0; i < n; i++)
				sbuf_appendf(b, "%s%s", i > 0 ? " " : "", fields[rnd(ARRAY_SIZE(fields))]);
			sbuf_append_str(b, ")");
		}
	}
	if (rnd(8) != 0)
		sbuf_append_str(b, "]");
	if (rnd(3) == 0)
		sbuf_appendf(b, "<%s.%s>", numbers[rnd(ARRAY_SIZE(numbers))],
			     numbers[rnd(ARRAY_SIZE(numbers))]);
}

START_TEST(test_fetch_items)
{
	static const struct imap_parser_limits lim = {
	    .max_line = 1 << 16, .max_command = 1 << 18, .max_depth = 8, .max_args = 10000};
	unsigned long n = fuzz_rounds(DEFAULT_ROUNDS) * 2;
	struct imap_parser *p = imap_parser_create(&lim);

	fuzz_seed(4);
	for (unsigned long i = 0; i < n; i++) {
		struct sbuf b = {0};
		const struct imap_arg *args;
		const char *error = NULL;
		size_t nargs, items = 1 + rnd(rnd(8) == 0 ? 80 : 4);
		char *copy;

		sbuf_append_str(&b, "(");
		for (size_t k = 0; k < items; k++) {
			if (k > 0)
				sbuf_append_str(&b, " ");
			fetch_item(&b);
		}
		sbuf_append_str(&b, ")");
		if (rnd(3) == 0)
			sbuf_append_str(&b, rnd(2) ? " (CHANGEDSINCE 5 VANISHED)"
					       : " (CHANGEDSINCE 9223372036854775808)");
		if (rnd(5) == 0)
			mutate(&b);
		copy = exact_copy(b.data, b.len);
		args = imap_parser_parse_values(p, copy, b.len, &nargs, &error);
		if (args == NULL) {
			CHECK(error != NULL);
		} else {
			struct walk w = {.lim = &lim};

			walk_args(&w, args, nargs, 0);
			try_fetch(args, nargs, false);
			try_fetch(args, nargs, true);
		}
		free(copy);
		sbuf_free(&b);
	}
	imap_parser_destroy(&p);
}
END_TEST

START_TEST(test_sequence_sets)
{
	static const char alphabet[] = "0123456789:,*::,,*1234567890 $a-";
	static const char *const parts[] = {"1", "*", "4294967295", "4294967296", "2147483648",
					    "0", "00", "10", "9999999999", "99999999999999999999"};
	unsigned long n = fuzz_rounds(DEFAULT_ROUNDS) * 2;

	fuzz_seed(5);
	for (unsigned long i = 0; i < n; i++) {
		struct sbuf b = {0};
		size_t len = rnd(rnd(8) == 0 ? 80 : 16);

		for (size_t k = 0; k < len; k++) {
			if (rnd(4) == 0)
				sbuf_append_str(&b, parts[rnd(ARRAY_SIZE(parts))]);
			else
				sbuf_append(&b, &alphabet[rnd(sizeof(alphabet) - 1)], 1);
		}
		check_seqset(sbuf_str(&b), b.len);
		sbuf_free(&b);
	}
}
END_TEST

/* A random code point, weighted toward the ones that matter to UTF-7. */
static uint32_t random_code_point(void)
{
	switch (rnd(6)) {
	case 0:
		return (uint32_t)(0x20 + rnd(0x5f)); /* printable ASCII, '&' among them */
	case 1:
		return (uint32_t)rnd(0x20); /* controls, NUL */
	case 2:
		return (uint32_t)(0x80 + rnd(0x780));
	case 3: {
		uint32_t cp = (uint32_t)(0x800 + rnd(0x10000 - 0x800));

		return cp >= 0xd800 && cp <= 0xdfff ? 0xfffd : cp;
	}
	case 4:
		return (uint32_t)(0x10000 + rnd(0x100000)); /* surrogate pairs in UTF-16 */
	default:
		return '&';
	}
}

static void put_utf8(struct sbuf *b, uint32_t cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sbuf_append(b, u, n);
}

START_TEST(test_utf7)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
	unsigned long n = fuzz_rounds(DEFAULT_ROUNDS) * 2;

	fuzz_seed(6);
	for (unsigned long i = 0; i < n; i++) {
		struct sbuf b = {0};
		size_t len = rnd(rnd(8) == 0 ? 120 : 20);

		switch (i % 3) {
		case 0: /* valid UTF-8 text */
			for (size_t k = 0; k < len; k++)
				put_utf8(&b, random_code_point());
			break;
		case 1: /* modified UTF-7 look-alikes */
			for (size_t k = 0; k < len; k++) {
				size_t c = rnd(10);

				if (c < 5)
					sbuf_append(&b, &b64[rnd(sizeof(b64) - 1)], 1);
				else if (c < 7)
					sbuf_append(&b, c == 5 ? "&" : "-", 1);
				else if (c < 9)
					sbuf_append(&b, &single_bytes[rnd(sizeof(single_bytes) - 1)], 1);
				else
					sbuf_append(&b, (const char[]){(char)rnd(256)}, 1);
			}
			break;
		default: { /* an encoding of valid text, then mutated */
			struct sbuf text = {0};

			for (size_t k = 0; k < len; k++)
				put_utf8(&text, random_code_point());
			CHECK_INT(imap_utf8_to_utf7(sbuf_str(&text), text.len, &b), ==, 0);
			sbuf_free(&text);
			if (rnd(2) == 0)
				mutate(&b);
			break;
		}
		}
		check_utf7(sbuf_str(&b), b.len);
		sbuf_free(&b);
	}
}
END_TEST

/* Stored and client values (ENVELOPE, BODYSTRUCTURE) through imap_parser_parse_values. */
START_TEST(test_values)
{
	static const struct {
		const char *s;
		size_t len; /* 0: strlen */
	} seeds[] = {
	    {"(\"Mon, 7 Feb 1994 21:52:25 -0800\" {7}\r\nH\xc3\xa9llo! ((\"Fred\" NIL \"fred\" "
	    "\"example.com\")) NIL NIL ((NIL NIL \"a\" \"b\")(\"x\" NIL \"y\" \"z\")) NIL NIL "
	    "\"<p@q>\" NIL)", 0},
	    {"((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 3 1 NIL NIL NIL NIL)"
	    "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 10 (NIL NIL NIL NIL NIL NIL NIL NIL NIL "
	    "NIL) (\"TEXT\" \"HTML\" NIL NIL NIL \"BASE64\" 4 1) 2) \"MIXED\" (\"BOUNDARY\" \"b\") "
	    "(\"ATTACHMENT\" (\"FILENAME\" {4}\r\n\xc3\xa9t\xc3)) (\"en\" \"de\") NIL)", 0},
	    {"~{3}\r\na\0b ~{0}\r\n {0}\r\n \"\" NIL ((((()))))", 40},
	};
	unsigned long n = fuzz_rounds(DEFAULT_ROUNDS) * 2;

	fuzz_seed(7);
	for (unsigned long i = 0; i < n; i++) {
		const struct imap_parser_limits *lim = &limit_sets[rnd(ARRAY_SIZE(limit_sets))];
		struct imap_parser *p = imap_parser_create(lim);
		struct sbuf b = {0};
		const struct imap_arg *v;
		const char *error = NULL;
		size_t nv, s = rnd(ARRAY_SIZE(seeds));
		char *copy;

		sbuf_append(&b, seeds[s].s, seeds[s].len != 0 ? seeds[s].len : strlen(seeds[s].s));
		if (rnd(8) == 0) {
			sbuf_reset(&b);
			for (size_t k = 0, len = rnd(60); k < len; k++)
				add_piece(&b);
		} else {
			mutate(&b);
		}
		copy = exact_copy(b.data, b.len);
		v = imap_parser_parse_values(p, copy, b.len, &nv, &error);
		if (v == NULL) {
			CHECK(error != NULL);
		} else {
			struct walk w = {.lim = lim};

			walk_args(&w, v, nv, 0);
			exercise_args(v, nv, 0);
		}
		/* the parser serves commands again afterwards */
		{
			size_t used;

			imap_parser_reset(p);
			CHECK_INT(imap_parser_feed(p, "z NOOP\r\n", 8, &used), ==, IMAP_PARSE_DONE);
			CHECK(strcmp(imap_parser_command(p), "NOOP") == 0);
		}
		imap_parser_destroy(&p);
		free(copy);
		sbuf_free(&b);
	}
}
END_TEST

/* Nesting and chains as deep as a client can make them stay within the limits. */
START_TEST(test_deep)
{
	static const struct imap_parser_limits big = {
	    .max_line = 1 << 20, .max_command = 1 << 22, .max_skip = 0, .max_depth = 64,
	    .max_args = 100000};
	struct sbuf b = {0};

	sbuf_append_str(&b, "s1 SEARCH ");
	for (int i = 0; i < 5000; i++)
		sbuf_append_str(&b, "NOT ");
	sbuf_append_str(&b, "ALL\r\ns2 SEARCH ");
	for (int i = 0; i < 64; i++)
		sbuf_append_str(&b, "(");
	for (int i = 0; i < 64; i++)
		sbuf_append_str(&b, ")");
	sbuf_append_str(&b, "\r\ns3 SEARCH ");
	for (int i = 0; i < 3000; i++)
		sbuf_append_str(&b, "OR ALL ");
	sbuf_append_str(&b, "ALL\r\n");
	fuzz_seed(8);
	fuzz_one(b.data, b.len, &big);
	sbuf_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("imap_fuzz");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	/* a long run (SLUICE_FUZZ_ITERATIONS) may take minutes */
	tcase_set_timeout(tc, 0);
	tcase_add_test(tc, test_regressions);
	tcase_add_test(tc, test_corpus_whole);
	tcase_add_test(tc, test_mutated_commands);
	tcase_add_test(tc, test_random_commands);
	tcase_add_test(tc, test_fetch_items);
	tcase_add_test(tc, test_sequence_sets);
	tcase_add_test(tc, test_utf7);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_deep);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
