/*
 * test_message_fuzz.c: randomized robustness tests of the parsers that read
 * delivered and appended mail: the header parser (lib/message.c, whole and
 * fed in random chunks, which must agree; written out and edited as Sieve
 * editheader does, read back alike), MIME (lib/mime.c: the part tree and its
 * limits, Content-Type, transfer decoders against encoders of our own,
 * charsets, RFC 2047 decode and encode round trip), what the index caches
 * (lib/imap_envelope.c: ENVELOPE and BODYSTRUCTURE read back with
 * imap_parser_parse_values and matched against the tree, the ENVELOPE also
 * with imap_env_read, intact and damaged; the preview; the header-fields
 * cache, which must answer HEADER.FIELDS as the message does), and FETCH
 * body sections (imapd/imap_fetch_body.c). Inputs are mutations of
 * realistic messages written below (nested multiparts, message/rfc822, QP
 * and base64, encoded-words, folding, bad boundaries, bare LF and CR, NULs,
 * 8-bit, long lines, nesting past the limits) and random bytes, each run
 * under the default limits and tight ones. Seeded xorshift: a failure
 * reproduces.
 * SLUICE_FUZZ_ITERATIONS=n runs n messages (default 1500; the other loops
 * scale with it), SLUICE_FUZZ_SEED=n another sequence. Run under ASan+UBSan.
 */
#include "imap_envelope.h"
#include "imap_fetch.h"
#include "imap_parser.h"
#include "message.h"
#include "mime.h"
#include "util.h"

#include "fuzz.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_ROUNDS 1500
/* A message of a few kilobytes taking this long is a hang. */
#define MAX_CASE_MS 3000

static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* --- seed messages --- */

static const char seed_mixed[] =
    "Return-Path: <ann@example.org>\n"
    "Received: from mx.example.org (mx.example.org [192.0.2.1])\n"
    "\tby mail.example.com with ESMTPS id 4F3;\n"
    "\tMon, 1 Jan 2024 10:00:00 +0000\n"
    "From: =?iso-8859-1?Q?Ann_M=FCller?= <ann@example.org>\n"
    "To: Bob <bob@example.com>, \"Carl, Jr.\" <carl@example.net>,\n"
    " undisclosed-recipients:;\n"
    "Cc: team: dave@example.com, eve@[192.0.2.7];, (comment (nested)) frank\n"
    "Subject: =?utf-8?B?SGVsbG8g8J+RiyB3b3JsZA==?= and\n"
    " =?utf-8?q?more_=C3=A9t=C3=A9?=\n"
    "Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
    "Message-ID: <abc.123@example.org>\n"
    "In-Reply-To: <prev@example.org>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"outer boundary\"\n"
    "Content-Language: en, de\n"
    "\n"
    "This is the preamble.\n"
    "--outer boundary\n"
    "Content-Type: multipart/alternative; boundary=alt\n"
    "\n"
    "--alt\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Gr=FC=DFe aus M=FCnchen, a soft=\n"
    " break and trailing space   \n"
    "--alt\n"
    "Content-Type: text/html; charset=utf-8\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "PGh0bWw+PGJvZHk+PHN0eWxlPnB7fTwvc3R5bGU+PHA+SGVsbG8gJmFtcDsgPGI+d29ybGQ8L2I+\n"
    "PC9wPjwvYm9keT48L2h0bWw+\n"
    "--alt--\n"
    "--outer boundary\n"
    "Content-Type: application/pdf; name*=utf-8''r%C3%A9sum%C3%A9.pdf\n"
    "Content-Disposition: attachment; filename*0*=utf-8''r%C3%A9; filename*1=sum.pdf\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-ID: <part3@example.org>\n"
    "Content-Description: a file\n"
    "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
    "Content-Location: http://example.org/x.pdf\n"
    "\n"
    "JVBERi0xLjQKJcTl8uXrp/Og0MTGCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCg==\n"
    "--outer boundary\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: inner@example.org\n"
    "To: bob@example.com\n"
    "Subject: inner\n"
    "Content-Type: multipart/mixed; boundary=inner\n"
    "\n"
    "--inner\n"
    "Content-Type: text/plain\n"
    "\n"
    "inner text\n"
    "--inner\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: innermost\n"
    "\n"
    "deep body\n"
    "--inner--\n"
    "--outer boundary--\n"
    "epilogue\n";

static const char seed_8bit[] =
    "From: joe@example.com\n"
    "Subject: caf\xe9 na\xefve \xff\n"
    "Content-Type: text/plain; charset=\"windows-1252\"\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "Caf\xe9 \x93quoted\x94 \x80 text\n";

static const char seed_digest[] =
    "Content-Type: multipart/digest; boundary=d\n"
    "\n"
    "--d\n"
    "\n"
    "Subject: one\n"
    "From: one@example.org\n"
    "\n"
    "first\n"
    "--d\n"
    "Content-Type: text/plain\n"
    "\n"
    "not a message\n"
    "--d--\n";

static const char seed_broken[] =
    "Content-Type: multipart/mixed; boundary=\"\"\n"
    "Content-Type: multipart/related; boundary=b; boundary=c\n"
    "\n"
    "--b\n"
    "--b\n"
    "Content-Type: multipart/mixed; boundary=b\n"
    "\n"
    "--b\n"
    "--bx not a delimiter\n"
    "--b--\n"
    "--b--\n"
    "--c\n"
    "Content-Type: text/plain; charset=utf-8; charset*0=x; charset*1*=%ff%\n"
    "Content-Disposition: inline; filename=\"a\\\"b\"\n"
    "Content-Transfer-Encoding: x-uuencode\n"
    "\n"
    "--c";

static const char seed_encoded[] =
    "Subject: =?utf-8?B?not base64!?= =?unknown-charset?Q?x?= =?utf-8?Q?=ZZ?=\n"
    " =?iso-2022-jp?B?GyRCJEgkSiQ/GyhC?= =?shift_jis?B?grGC8YLJgr+CzQ==?=\n"
    " =?utf-7?Q?+AOk-?= =?koi8-r?Q?=F0=D2=C9=D7=C5=D4?= =?utf-16?B?/v8A6Q==?=\n"
    " =?utf-8*en?Q?lang?= =?gb18030?B?xOO6ww==?= =?utf-8?q?a?==?utf-8?q?b?=\n"
    "From: =?utf-8?Q?=E2=98=83?= <snow@example.org>, \"quoted \\\" name\" <q@example.org>\n"
    "Reply-To: <>\n"
    "Sender:\n"
    "To: a@b, , @c, <d@e.f>, \"\" <g@h.i>, group:;\n"
    "Content-Type: text/plain; charset=utf-16le\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "SABlAGwAbABvAA==\n";

/* Whole messages beyond the limits, built once: deep nesting and many parts. */
static struct sbuf seed_deep, seed_many, seed_long;

static const char long_tail[] = "\rSubject: bare\rCR\0nul\r\nTo: \"\0\" <a\0b@c.d>\r\n"
				"Content-Type: text/plain; charset=utf-8\r\n\r\nbody\0with NUL\r";

static void build_seeds(void)
{
	sbuf_reset(&seed_deep);
	for (int i = 0; i < 30; i++) {
		if (i % 3 == 2)
			sbuf_append_str(&seed_deep, "Content-Type: message/rfc822\r\n\r\n");
		else
			sbuf_appendf(&seed_deep,
				     "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i);
	}
	sbuf_append_str(&seed_deep, "Content-Type: text/plain\r\n\r\nleaf\r\n");
	for (int i = 29; i >= 0; i--) {
		if (i % 3 != 2)
			sbuf_appendf(&seed_deep, "--b%d--\r\n", i);
	}
	sbuf_reset(&seed_many);
	sbuf_append_str(&seed_many, "Content-Type: multipart/mixed; boundary=x\r\n\r\n");
	for (int i = 0; i < 600; i++)
		sbuf_append_str(&seed_many, i % 7 == 0 ? "--x\r\nContent-Type: message/rfc822\r\n\r\n"
							 "Subject: s\r\n\r\nb\r\n"
						       : "--x\r\n\r\npart\r\n");
	sbuf_append_str(&seed_many, "--x--\r\n");
	sbuf_reset(&seed_long);
	sbuf_append_str(&seed_long, "X-Long: ");
	for (int i = 0; i < 3000; i++)
		sbuf_append_str(&seed_long, i % 97 == 0 ? "\r\n " : "a");
	sbuf_append(&seed_long, long_tail, sizeof(long_tail) - 1);
	for (int i = 0; i < 5000; i++)
		sbuf_append_str(&seed_long, "x");
}

/* A seed, in one of three line-end styles. */
static void seed_message(struct sbuf *b)
{
	static const char *const fixed[] = {seed_mixed, seed_8bit, seed_digest, seed_broken,
					    seed_encoded};
	size_t k = rnd(ARRAY_SIZE(fixed) + 3);
	const char *s;
	size_t len;

	if (seed_deep.data == NULL) /* each test may run in a process of its own */
		build_seeds();

	if (k < ARRAY_SIZE(fixed)) {
		s = fixed[k];
		len = strlen(s);
	} else {
		const struct sbuf *built = k == ARRAY_SIZE(fixed)       ? &seed_deep
					   : k == ARRAY_SIZE(fixed) + 1 ? &seed_many
									: &seed_long;
		s = built->data;
		len = built->len;
	}
	switch (rnd(4)) {
	case 0: /* CRLF */
		for (size_t i = 0; i < len; i++) {
			if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
				sbuf_append(b, "\r", 1);
			sbuf_append(b, s + i, 1);
		}
		break;
	case 1: /* bare CR */
		for (size_t i = 0; i < len; i++)
			sbuf_append(b, s[i] == '\n' ? "\r" : s + i, 1);
		break;
	default:
		sbuf_append(b, s, len);
		break;
	}
}

static const char *const msg_tokens[] = {
    "\r\n", "\n", "\r", "\r\n\r\n", "\n\n", "--", "--outer boundary", "--alt--", "--inner\r\n",
    "--b", "\r\n--x\r\n", "Content-Type: multipart/mixed; boundary=x\r\n",
    "Content-Type: message/rfc822\r\n", "Content-Type: multipart/digest; boundary=\"d\"\n",
    "Content-Transfer-Encoding: base64\r\n", "Content-Transfer-Encoding: quoted-printable\n",
    "Content-Type: text/plain; charset=", "utf-16", "iso-2022-jp", "=?utf-8?q?", "=?", "?=",
    "?B?", "?Q?", "=C3", "=\r\n", "=", "\t", " ", "\0", "\xff", "\xc3", "\xe2\x82", "(", ")",
    "\"", "\\", ";", "boundary=", "charset=", "*0*=", "*1=", "''", "%", "%e9", "<", ">", "@",
    ",", ":", "From: ", "To: ", "Subject: ", "Date: ", "Content-Disposition: attachment; ",
    "=?iso-2022-jp?B?GyRCJCIbKEI=?=", "\x1b$B", "+AOk-", "AAAA", "====",
};

static void add_piece(struct sbuf *b)
{
	size_t k = rnd(100);

	if (k < 50) {
		sbuf_append_str(b, msg_tokens[rnd(ARRAY_SIZE(msg_tokens))]);
	} else if (k < 60) {
		sbuf_append(b, "", 1);
	} else {
		char c = (char)(k < 80 ? 0x20 + rnd(0x5f) : rnd(256));

		sbuf_append(b, &c, 1);
	}
}

/* Apply 1 to 6 random edits: flips, insertions, deletions, truncation, repeats, line ends. */
static void mutate(struct sbuf *b)
{
	size_t edits = 1 + rnd(6);

	sbuf_append(b, "", 0); /* data is never NULL below */
	for (size_t e = 0; e < edits; e++) {
		size_t len = b->len, at = rnd(len + 1), span = 1 + rnd(rnd(3) == 0 ? 2000 : 40);
		struct sbuf t = {0};

		if (at + span > len)
			span = len - at;
		switch (rnd(9)) {
		case 0:
			if (len > 0)
				b->data[rnd(len)] ^= (char)(1u << rnd(8));
			continue;
		case 1:
		case 2:
			sbuf_append(&t, b->data, at);
			for (size_t n = 1 + rnd(3); n > 0; n--)
				add_piece(&t);
			sbuf_append(&t, b->data + at, len - at);
			break;
		case 3:
			memmove(b->data + at, b->data + at + span, len - at - span);
			b->len -= span;
			b->data[b->len] = '\0';
			continue;
		case 4:
			b->len = at;
			b->data[at] = '\0';
			continue;
		case 5:
			sbuf_append(&t, b->data, at + span);
			for (size_t n = 1 + rnd(rnd(4) == 0 ? 20 : 2); n > 0; n--)
				sbuf_append(&t, b->data + at, span);
			sbuf_append(&t, b->data + at + span, len - at - span);
			break;
		case 6: { /* one line end style replaced by another everywhere */
			static const char *const ends[] = {"\r\n", "\n", "\r"};
			const char *from = ends[rnd(3)], *to = ends[rnd(3)];
			size_t flen = strlen(from);

			for (size_t i = 0; i < len;) {
				if (i + flen <= len && memcmp(b->data + i, from, flen) == 0) {
					sbuf_append_str(&t, to);
					i += flen;
				} else {
					sbuf_append(&t, b->data + i, 1);
					i++;
				}
			}
			break;
		}
		case 7: { /* a line moved elsewhere */
			const char *nl = memchr(b->data + at, '\n', len - at);
			size_t end = nl != NULL ? (size_t)(nl - b->data) + 1 : len, to = rnd(len + 1);

			if (to >= at && to <= end)
				continue;
			if (to < at) {
				sbuf_append(&t, b->data, to);
				sbuf_append(&t, b->data + at, end - at);
				sbuf_append(&t, b->data + to, at - to);
				sbuf_append(&t, b->data + end, len - end);
			} else {
				sbuf_append(&t, b->data, at);
				sbuf_append(&t, b->data + end, to - end);
				sbuf_append(&t, b->data + at, end - at);
				sbuf_append(&t, b->data + to, len - to);
			}
			break;
		}
		default: { /* a span of another seed */
			struct sbuf other = {0};
			size_t from, n;

			seed_message(&other);
			from = rnd(other.len);
			n = 1 + rnd(other.len - from);
			sbuf_append(&t, b->data, at);
			sbuf_append(&t, other.data + from, n > 400 ? 400 : n);
			sbuf_append(&t, b->data + at, len - at);
			sbuf_free(&other);
			break;
		}
		}
		sbuf_free(b);
		*b = t;
		sbuf_append(b, "", 0);
	}
}

/* --- checks --- */

static const struct imap_parser_limits big_limits = {
    .max_line = 1 << 24, .max_command = 1 << 26, .max_depth = 1000, .max_args = 1 << 22};

static void check_field(const struct message_field *f)
{
	CHECK(message_field_name_valid(f->name, f->name_len));
	CHECK(f->name[f->name_len] == '\0' && f->value[f->value_len] == '\0' &&
	      f->raw[f->raw_len] == '\0');
	CHECK_UINT(f->value_len, <=, f->raw_len);
	CHECK(memchr(f->value, '\n', f->value_len) == NULL);
	if (f->value_len > 0) {
		char first = f->value[0], last = f->value[f->value_len - 1];

		CHECK(first != ' ' && first != '\t' && first != '\r');
		CHECK(last != ' ' && last != '\t' && last != '\r');
	}
}

static void check_header(const struct message_header *hdr, const struct message_limits *lim)
{
	CHECK_UINT(hdr->count, <=, lim->max_fields);
	for (size_t i = 0; i < hdr->count; i++) {
		const struct message_field *f = &hdr->fields[i];

		check_field(f);
		/* the first field of a name is the one a lookup finds */
		if (i < 16) {
			const struct message_field *g = message_header_get(hdr, f->name, 0);

			CHECK(g != NULL && g <= f);
			CHECK_UINT(message_header_count(hdr, f->name), >=, 1);
		}
	}
}

static bool same_field(const struct message_field *a, const struct message_field *b)
{
	return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0 &&
	       a->raw_len == b->raw_len && memcmp(a->raw, b->raw, a->raw_len) == 0 &&
	       a->value_len == b->value_len && memcmp(a->value, b->value, a->value_len) == 0;
}

/*
 * The resumable parser fed in chunks (one byte, or random sizes) agrees with
 * the whole-buffer one: the same fields, the same end, the same size.
 */
static void check_header_chunked(const char *data, size_t size, const struct message_limits *lim,
				 int whole_rc, const struct message_header *whole,
				 size_t whole_size, bool bytewise)
{
	struct header_parser *p = header_parser_create(lim);
	struct message_field f;
	const char *error = NULL;
	size_t pos = 0, nfield = 0;
	bool finished = false;
	int r;

	for (;;) {
		r = header_parser_next(p, &f, &error);
		CHECKF(r != HEADER_PARSE_MORE || !finished, "the header parser wants more after the end");
		if (r == HEADER_PARSE_FIELD) {
			CHECKF(whole_rc == 0 ? nfield < whole->count : true, "an extra field %s", f.name);
			if (whole_rc == 0)
				CHECKF(same_field(&f, &whole->fields[nfield]), "field %zu differs: %s",
				       nfield, f.name);
			nfield++;
			message_field_clear(&f);
			continue;
		}
		if (r != HEADER_PARSE_MORE)
			break;
		if (pos == size) {
			header_parser_finish(p);
			finished = true;
			continue;
		}
		{
			size_t n = bytewise ? 1 : 1 + rnd(rnd(2) ? 7 : 300);

			if (n > size - pos)
				n = size - pos;
			header_parser_feed(p, data + pos, n);
			pos += n;
		}
	}
	if (r == HEADER_PARSE_END) {
		size_t rest;
		const char *tail = header_parser_rest(p, &rest);

		CHECKF(whole_rc == 0, "chunked parse ends, whole one fails");
		CHECK_UINT(nfield, ==, whole->count);
		CHECK_UINT(header_parser_header_size(p), ==, whole_size);
		CHECK_UINT(rest, ==, pos - whole_size);
		CHECK(memcmp(tail, data + whole_size, rest) == 0);
		/* it stays ended */
		CHECK(header_parser_next(p, &f, &error) == HEADER_PARSE_END);
	} else {
		CHECK(r == HEADER_PARSE_ERROR && error != NULL);
		CHECKF(whole_rc < 0, "chunked parse fails (%s), whole one does not", error);
	}
	header_parser_free(&p);
	CHECK(p == NULL);
}

/* Bytes as C escapes, for a failure message. */
static void escape(const char *s, size_t len, struct sbuf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '\\' || c == '"')
			sbuf_appendf(out, "\\x%02x", c);
		else
			sbuf_append(out, &s[i], 1);
	}
	sbuf_append(out, "", 0);
}

/*
 * Editing a header (Sieve editheader): a field inserted with any value, CR
 * and LF included, is one field when the header is written and read again,
 * with the value it was given, and its folded text has no blank or
 * white-space-only line (which would end the header for some readers).
 */
static void check_header_edit(const struct message_header *hdr)
{
	static const char *const pieces[] = {"\r\n", "\n", "\r", "\n\n", "\r\n\r\n", " ", "\t",
					     "\r\nBcc: evil@example.org", "\n\t", "word",
					     "=?utf-8?q?x?=", "\xc3\xa9", ":"};
	struct message_header copy, again;
	struct sbuf value = {0}, w = {0};
	const char *error = NULL;
	size_t pos = rnd(hdr->count + 1), hsize, n = rnd(rnd(4) == 0 ? 120 : 12);
	const struct message_field *f;

	for (size_t i = 0; i < n; i++) {
		if (rnd(8) == 0)
			sbuf_append(&value, "", 1); /* a NUL */
		if (rnd(2) == 0)
			sbuf_append_str(&value, pieces[rnd(ARRAY_SIZE(pieces))]);
		else
			for (size_t k = rnd(20); k > 0; k--)
				sbuf_append(&value, "x", 1);
	}
	message_header_copy(&copy, hdr);
	message_header_insert(&copy, pos, "X-Edited", sbuf_str(&value), value.len);
	CHECK_UINT(copy.count, ==, hdr->count + 1);
	f = &copy.fields[pos];
	CHECK(strcmp(f->name, "X-Edited") == 0);
	check_field(f);
	/* no blank or white-space-only line inside the folded text */
	for (size_t i = 0; i < f->raw_len; i++) {
		if (f->raw[i] != '\n')
			continue;
		{
			size_t k = i + 1;

			while (k < f->raw_len && (f->raw[k] == ' ' || f->raw[k] == '\t'))
				k++;
			if (k >= f->raw_len || f->raw[k] == '\r' || f->raw[k] == '\n') {
				struct sbuf esc = {0}, vesc = {0};

				size_t from = i > 100 ? i - 100 : 0;

				escape(f->raw + from, (k < f->raw_len ? k + 2 : k) - from, &esc);
				escape(sbuf_str(&value), value.len < 200 ? value.len : 200, &vesc);
				ck_abort_msg("the value \"%s\" inserted leaves a white-space-only "
					     "line: ...\"%s\"", vesc.data, esc.data);
			}
		}
	}
	if (copy.count > 1 && rnd(2) == 0) {
		size_t gone = rnd(copy.count);

		message_header_remove(&copy, gone);
		if (gone < pos)
			pos--;
		else if (gone == pos)
			pos = SIZE_MAX;
	}
	message_header_write(&copy, &w);
	CHECK(message_header_parse(w.data, w.len, NULL, &again, &hsize, &error) == 0);
	CHECKF(again.count == copy.count && hsize == w.len,
	       "an inserted value changes the header: %zu fields, then %zu", copy.count,
	       again.count);
	if (pos != SIZE_MAX)
		CHECK(again.fields[pos].value_len == copy.fields[pos].value_len &&
		      memcmp(again.fields[pos].value, copy.fields[pos].value,
			     copy.fields[pos].value_len) == 0);
	message_header_clear(&again);
	message_header_clear(&copy);
	sbuf_free(&value);
	sbuf_free(&w);
}

static void check_headers(const char *data, size_t size, const struct message_limits *lim)
{
	struct message_header hdr, again;
	const char *error = NULL;
	size_t hsize = 0, hsize2 = 0;
	int rc = message_header_parse(data, size, lim, &hdr, &hsize, &error);

	if (rc == 0) {
		struct sbuf w = {0};

		CHECK_UINT(hsize, <=, size);
		check_header(&hdr, lim);
		/* written out (CRLF) and read again: the same names and values */
		message_header_write(&hdr, &w);
		CHECK(message_header_parse(w.data, w.len, NULL, &again, &hsize2, &error) == 0);
		CHECK_UINT(hsize2, ==, w.len);
		CHECK_UINT(again.count, ==, hdr.count);
		for (size_t i = 0; i < hdr.count; i++) {
			const struct message_field *a = &hdr.fields[i], *b = &again.fields[i];

			CHECKF(a->name_len == b->name_len && strcmp(a->name, b->name) == 0 &&
				       a->value_len == b->value_len &&
				       memcmp(a->value, b->value, a->value_len) == 0,
			       "field %zu (%s) changes when written out", i, a->name);
		}
		message_header_clear(&again);
		sbuf_free(&w);
		if (lim->max_fields > 1000)
			check_header_edit(&hdr);
	} else {
		CHECK(error != NULL);
		CHECK(hdr.count == 0 && hdr.fields == NULL);
	}
	/* the header and a little of the body, as a server reads it */
	{
		size_t part = rc == 0 && hsize + 64 < size ? hsize + 64 : size;

		check_header_chunked(data, part, lim, rc, &hdr, hsize, true);
		check_header_chunked(data, part, lim, rc, &hdr, hsize, false);
	}
	if (rc == 0)
		message_header_clear(&hdr);
}

/* RFC 2047: decoding gives valid UTF-8 of a bounded size. */
static void check_decode(const char *value, size_t len)
{
	struct sbuf out = {0};

	mime_header_decode(value, len, &out);
	CHECKF(utf8_valid(sbuf_str(&out), out.len), "decoded header is not UTF-8: %s",
	       sbuf_str(&out));
	CHECK_UINT(out.len, <=, 16 * len + 16);
	sbuf_free(&out);
}

/* RFC 2047 words for UTF-8 text: short, clean, and decoding to the text again. */
static void check_encode(const char *s, size_t len)
{
	static const char *const seps[] = {" ", "\r\n ", "\r\n\t"};
	size_t first_max = rnd(4) == 0 ? rnd(80) : 0;
	const char *sep = seps[rnd(ARRAY_SIZE(seps))];
	struct sbuf enc = {0}, dec = {0};
	size_t i = 0, nword = 0;

	mime_header_encode(s, len, first_max, sep, &enc);
	/* each word: "=?utf-8?X?" text "?=", the words joined by sep */
	while (i < enc.len) {
		const char *w = enc.data + i, *end;
		size_t text, max = nword == 0 && first_max > 0 && first_max < MIME_ENCODED_TEXT_MAX
					   ? first_max
					   : MIME_ENCODED_TEXT_MAX;
		struct sbuf one = {0};

		if (nword > 0) {
			CHECK(strncmp(w, sep, strlen(sep)) == 0);
			w += strlen(sep);
		}
		CHECKF(strncmp(w, "=?utf-8?Q?", 10) == 0 || strncmp(w, "=?utf-8?B?", 10) == 0,
		       "not an encoded-word: %s", w);
		end = strstr(w + 10, "?=");
		CHECK(end != NULL);
		text = (size_t)(end - w) - 10;
		for (const char *c = w; c < end + 2; c++)
			CHECK(*c > 0x20 && *c < 0x7f);
		mime_header_decode(w, (size_t)(end + 2 - w), &one);
		/* within the limit, unless one character alone is longer */
		CHECKF(text <= max || utf8_chars(one.data, one.len) == 1,
		       "encoded-word of %zu characters (max %zu)", text, max);
		sbuf_free(&one);
		i = (size_t)(end + 2 - enc.data);
		nword++;
	}
	mime_header_decode(sbuf_str(&enc), enc.len, &dec);
	CHECKF(dec.len == len && memcmp(sbuf_str(&dec), s, len) == 0,
	       "RFC 2047 round trip of \"%.*s\" gives \"%s\" via %s", (int)len, s, sbuf_str(&dec),
	       sbuf_str(&enc));
	sbuf_free(&enc);
	sbuf_free(&dec);
}

static bool is_nstring(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_STRING || a->type == IMAP_ARG_LITERAL ||
	       imap_arg_is_atom(a, "NIL");
}

static bool is_string(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_STRING || a->type == IMAP_ARG_LITERAL;
}

/* Every string of a cached response is UTF-8 without NUL (it goes into a text column). */
static void check_strings(const struct imap_arg *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i].type == IMAP_ARG_LIST) {
			check_strings(a[i].list, a[i].count);
		} else if (is_string(&a[i])) {
			CHECK(!a[i].literal8 && strlen(a[i].str) == a[i].len);
			CHECK(utf8_valid(a[i].str, a[i].len));
		} else {
			CHECK(a[i].type == IMAP_ARG_ATOM);
		}
	}
}

static bool eq_upper(const struct imap_arg *a, const char *s)
{
	return is_string(a) && strcasecmp(a->str, s) == 0;
}

static void check_envelope_args(const struct imap_arg *e)
{
	CHECK(e->type == IMAP_ARG_LIST && e->count == 10);
	for (size_t i = 0; i < 10; i++) {
		const struct imap_arg *f = &e->list[i];

		if (i < 2 || i > 7) {
			CHECK(is_nstring(f));
			continue;
		}
		if (imap_arg_is_atom(f, "NIL"))
			continue;
		CHECK(f->type == IMAP_ARG_LIST && f->count >= 1);
		for (size_t k = 0; k < f->count; k++) {
			const struct imap_arg *addr = &f->list[k];

			CHECK(addr->type == IMAP_ARG_LIST && addr->count == 4);
			for (size_t m = 0; m < 4; m++)
				CHECK(is_nstring(&addr->list[m]));
		}
	}
}

static size_t lines_of(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	return n + (len > 0 && s[len - 1] != '\n');
}

/* A BODYSTRUCTURE (or BODY) read back, matched against the part it describes. */
static void check_body_args(const struct imap_arg *a, const struct mime_part *p, const char *data,
			    bool extended)
{
	const size_t ext = extended ? 4 : 0;

	CHECK(a->type == IMAP_ARG_LIST);
	if (strcmp(p->ct.type, "multipart") == 0) {
		size_t n = 0, i = 0;

		for (const struct mime_part *c = p->children; c != NULL; c = c->next)
			n++;
		/* children (or one empty stand-in), the subtype, the extension data */
		CHECKF(a->count == (n > 0 ? n : 1) + 1 + ext, "multipart of %zu parts: %zu items",
		       n, a->count);
		for (const struct mime_part *c = p->children; c != NULL; c = c->next)
			check_body_args(&a->list[i++], c, data, extended);
		CHECK(eq_upper(&a->list[n > 0 ? n : 1], p->ct.subtype) ||
		      strlen(p->ct.subtype) >= 127);
		return;
	}
	{
		bool text = strcmp(p->ct.type, "text") == 0;
		bool rfc822 = strcmp(p->ct.type, "message") == 0 &&
			      strcmp(p->ct.subtype, "rfc822") == 0 && p->children != NULL;
		size_t want = 7 + (rfc822 ? 3 : text ? 1 : 0) + ext;
		const struct imap_arg *l = a->list;

		CHECKF(a->count == want, "%s/%s part: %zu items, want %zu", p->ct.type, p->ct.subtype,
		       a->count, want);
		CHECK(is_string(&l[0]) && is_string(&l[1]));
		CHECK((eq_upper(&l[0], p->ct.type) || strlen(p->ct.type) >= 127) &&
		      (eq_upper(&l[1], p->ct.subtype) || strlen(p->ct.subtype) >= 127));
		CHECK(l[2].type == IMAP_ARG_LIST || imap_arg_is_atom(&l[2], "NIL"));
		CHECK(is_nstring(&l[3]) && is_nstring(&l[4]) && is_string(&l[5]));
		CHECK(imap_arg_number(&l[6], INT64_MAX) == (int64_t)p->body_len);
		if (rfc822) {
			check_envelope_args(&l[7]);
			check_body_args(&l[8], p->children, data, extended);
		}
		if (text || rfc822)
			CHECK(imap_arg_number(&l[rfc822 ? 9 : 7], INT64_MAX) ==
			      (int64_t)lines_of(data + p->body_offset, p->body_len));
	}
}

/*
 * RFC 3501 9 writes address lists and multipart bodies as 1*address and
 * 1*body: lists that abut, "(...)(...)". The command parser wants SP between
 * arguments, so one is put there before it reads a cached response back.
 */
static void separate_lists(const char *s, size_t len, struct sbuf *out)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"') {
			size_t k = i + 1;

			while (k < len && s[k] != '"')
				k += s[k] == '\\' ? 2 : 1;
			k = k < len ? k + 1 : len;
			sbuf_append(out, s + i, k - i);
			i = k - 1;
			continue;
		}
		if (s[i] == '{') {
			char *end;
			unsigned long long n = strtoull(s + i + 1, &end, 10);
			size_t k = (size_t)(end - s);

			if (k + 3 <= len && memcmp(end, "}\r\n", 3) == 0 && n <= len - k - 3) {
				sbuf_append(out, s + i, k + 3 + (size_t)n - i);
				i = k + 3 + (size_t)n - 1;
				continue;
			}
		}
		sbuf_append(out, s + i, 1);
		if (s[i] == ')' && i + 1 < len && s[i + 1] == '(')
			sbuf_append(out, " ", 1);
	}
}

/* An nstring the IMAP parser read equals the one imap_env_read() found. */
static void same_nstring(const struct imap_arg *a, const struct imap_env_string *s)
{
	struct sbuf v = {0};

	if (imap_arg_is_atom(a, "NIL")) {
		CHECK(!imap_env_string_append(s, &v));
		return;
	}
	CHECK(imap_env_string_append(s, &v));
	CHECKF(v.len == a->len && memcmp(sbuf_str(&v), a->str, a->len) == 0,
	       "imap_env_read gives \"%s\", the parser \"%s\"", sbuf_str(&v), a->str);
	sbuf_free(&v);
}

/* The cached ENVELOPE through its own reader (SEARCH, SORT): what the IMAP parser sees. */
static void check_env_reader(const char *env, size_t len, const struct imap_arg *e)
{
	char *copy = exact_copy(env, len);
	struct imap_env r;

	CHECKF(imap_env_read(copy, len, &r) == 0, "imap_env_read refuses %s", env);
	same_nstring(&e->list[0], &r.date);
	same_nstring(&e->list[1], &r.subject);
	same_nstring(&e->list[8], &r.in_reply_to);
	same_nstring(&e->list[9], &r.message_id);
	for (size_t i = 0; i < 6; i++) {
		const struct imap_arg *l = &e->list[2 + i];
		struct imap_env_address a;
		size_t n = 0;

		while (imap_env_next_address(&r.addr[i], &a)) {
			CHECK(l->type == IMAP_ARG_LIST && n < l->count);
			same_nstring(&l->list[n].list[0], &a.name);
			same_nstring(&l->list[n].list[1], &a.adl);
			same_nstring(&l->list[n].list[2], &a.mailbox);
			same_nstring(&l->list[n].list[3], &a.host);
			n++;
		}
		CHECK_UINT(n, ==, l->type == IMAP_ARG_LIST ? l->count : 0);
	}
	free(copy);
}

static bool within(const struct imap_env_string *s, const char *buf, size_t len)
{
	return s->data == NULL || (s->data >= buf && s->len <= len - (size_t)(s->data - buf));
}

/* A damaged cached ENVELOPE (the database is not trusted): refused, or read within bounds. */
static void check_env_reader_damaged(const char *env, size_t len)
{
	struct sbuf b = {0};
	struct imap_env r;
	char *copy;

	sbuf_append(&b, env, len);
	mutate(&b);
	copy = exact_copy(sbuf_str(&b), b.len);
	if (imap_env_read(copy, b.len, &r) == 0) {
		struct imap_env_string *strings[4] = {&r.date, &r.subject, &r.in_reply_to,
						      &r.message_id};
		struct sbuf v = {0};

		for (size_t i = 0; i < 4; i++) {
			CHECK(within(strings[i], copy, b.len));
			imap_env_string_append(strings[i], &v);
		}
		for (size_t i = 0; i < 6; i++) {
			struct imap_env_address a;
			size_t n = 0;

			CHECK(r.addr[i].p >= copy && r.addr[i].p <= r.addr[i].end &&
			      r.addr[i].end <= copy + b.len);
			while (imap_env_next_address(&r.addr[i], &a)) {
				CHECK(n++ <= b.len);
				CHECK(within(&a.name, copy, b.len) && within(&a.adl, copy, b.len) &&
				      within(&a.mailbox, copy, b.len) && within(&a.host, copy, b.len));
				imap_env_string_append(&a.name, &v);
				imap_env_string_append(&a.mailbox, &v);
				imap_env_string_append(&a.host, &v);
			}
		}
		CHECK_UINT(v.len, <=, b.len);
		sbuf_free(&v);
	}
	free(copy);
	sbuf_free(&b);
}

/*
 * The index's cache of the header fields clients list (imap_header_cache)
 * answers a HEADER.FIELDS of those names with the bytes the message gives,
 * the way FETCH uses it (imapd/imap_cmd_fetch.c send_section).
 */
static void check_header_cache(const char *data, size_t size)
{
	static const char *const names[] = {"FROM",       "To",         "SUBJECT",  "DATE",
					    "CONTENT-TYPE", "MESSAGE-ID", "REFERENCES", "CC",
					    "X-PRIORITY", "reply-to",   "LIST-ID",  "BCC"};
	struct imap_parser *p;
	struct sbuf cache = {0}, items = {0}, from_msg = {0}, from_cache = {0};
	struct message_header hdr = {0};
	struct fetch_request req;
	const struct imap_arg *args;
	const char *c, *error = NULL;
	size_t clen, nargs, hsize;

	sbuf_append_str(&cache, "X");
	if (!imap_header_cache(data, size, &cache)) {
		CHECK(cache.len == 1 && cache.data[1] == '\0');
		sbuf_free(&cache);
		return;
	}
	c = cache.data + 1;
	clen = cache.len - 1;
	CHECK_UINT(clen, <=, 16384);
	CHECK(utf8_valid(c, clen) && memchr(c, '\0', clen) == NULL);
	CHECK(clen >= 2 && memcmp(c + clen - 2, "\r\n", 2) == 0);
	sbuf_append_str(&items, "BODY.PEEK[HEADER.FIELDS (");
	for (size_t i = 0, n = 1 + rnd(5); i < n; i++)
		sbuf_appendf(&items, "%s%s", i > 0 ? " " : "", names[rnd(ARRAY_SIZE(names))]);
	sbuf_append_str(&items, ")]");
	p = imap_parser_create(&big_limits);
	args = imap_parser_parse_values(p, items.data, items.len, &nargs, &error);
	CHECK(args != NULL && imap_fetch_parse(args, nargs, false, &req, &error) == 0);
	CHECK(req.nsections == 1);
	CHECK(imap_fetch_section(&req.sections[0], data, size, NULL, &from_msg) == SECTION_OK);
	if (message_header_parse(c, strlen(c), NULL, &hdr, &hsize, &error) == 0)
		imap_header_fields(&hdr, req.sections[0].fields, req.sections[0].nfields, true,
				   &from_cache);
	else
		sbuf_append_str(&from_cache, c);
	CHECKF(from_msg.len == from_cache.len &&
		       memcmp(sbuf_str(&from_msg), sbuf_str(&from_cache), from_msg.len) == 0,
	       "%s from the cache:\n%s\nfrom the message:\n%s", items.data,
	       sbuf_str(&from_cache), sbuf_str(&from_msg));
	message_header_clear(&hdr);
	imap_fetch_request_free(&req);
	imap_parser_destroy(&p);
	sbuf_free(&cache);
	sbuf_free(&items);
	sbuf_free(&from_msg);
	sbuf_free(&from_cache);
}

/* The cached responses of a parsed message, read back with the IMAP parser. */
static void check_cached(const struct mime_part *root, const char *data)
{
	struct imap_parser *p = imap_parser_create(&big_limits);
	struct sbuf env = {0}, body = {0}, bs = {0}, preview = {0}, spaced = {0};
	const struct imap_arg *v;
	const char *error = NULL;
	size_t n;

	imap_envelope(&root->header, &env);
	separate_lists(env.data, env.len, &spaced);
	v = imap_parser_parse_values(p, spaced.data, spaced.len, &n, &error);
	CHECKF(v != NULL && n == 1, "ENVELOPE does not parse (%s): %s", error, env.data);
	check_envelope_args(&v[0]);
	check_strings(v, n);
	check_env_reader(env.data, env.len, &v[0]);
	check_env_reader_damaged(env.data, env.len);
	for (int extended = 0; extended < 2; extended++) {
		struct sbuf *out = extended ? &bs : &body;

		imap_bodystructure(root, data, extended, out);
		sbuf_reset(&spaced);
		separate_lists(out->data, out->len, &spaced);
		v = imap_parser_parse_values(p, spaced.data, spaced.len, &n, &error);
		CHECKF(v != NULL && n == 1, "BODYSTRUCTURE does not parse (%s): %s", error,
		       out->data);
		check_body_args(&v[0], root, data, extended);
		check_strings(v, n);
	}
	/* RFC 8970: plain UTF-8, white space collapsed, no controls, at most 200 characters */
	imap_preview(root, data, IMAP_PREVIEW_MAX_CHARS, &preview);
	CHECK(utf8_valid(sbuf_str(&preview), preview.len));
	CHECK_UINT(utf8_chars(sbuf_str(&preview), preview.len), <=, IMAP_PREVIEW_MAX_CHARS);
	for (size_t i = 0; i < preview.len; i++) {
		unsigned char c = (unsigned char)preview.data[i];

		CHECK(c >= 0x20 && c != 0x7f);
		CHECK(c != ' ' || (i > 0 && i + 1 < preview.len && preview.data[i + 1] != ' '));
	}
	sbuf_free(&env);
	sbuf_free(&body);
	sbuf_free(&bs);
	sbuf_free(&preview);
	sbuf_free(&spaced);
	imap_parser_destroy(&p);
}

static bool is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 32 || c >= 127 || strchr("()<>@,;:\\\"/[]?=", c) != NULL ||
		    (c >= 'A' && c <= 'Z'))
			return false;
	}
	return true;
}

/* The tree: offsets nested and ordered, limits kept, links consistent. Its part count. */
static size_t check_part(const struct mime_part *p, const struct mime_part *parent, size_t start,
			 size_t end, const struct message_limits *lim, const char *data)
{
	size_t count = 1, prev_end = p->body_offset;

	CHECK(p->parent == parent);
	CHECK_UINT(p->depth, ==, parent != NULL ? parent->depth + 1 : 0);
	CHECK_UINT(p->depth, <=, lim->max_mime_depth);
	CHECK(start <= p->offset && p->offset <= p->body_offset);
	CHECK_UINT(p->body_offset + p->body_len, ==, end);
	CHECK(is_token(p->ct.type) && is_token(p->ct.subtype));
	for (size_t i = 0; i < p->ct.nparams; i++)
		CHECK(p->ct.params[i].name != NULL && p->ct.params[i].value != NULL);
	if (p->encoding != NULL) {
		for (const char *c = p->encoding; *c != '\0'; c++)
			CHECK(!(*c >= 'A' && *c <= 'Z'));
	}
	check_header(&p->header, lim);
	if (strcmp(p->ct.type, "multipart") == 0) {
		CHECK(p->prologue_offset == p->body_offset || p->prologue_len == 0);
		CHECK_UINT(p->prologue_offset + p->prologue_len, <=, end);
		CHECK(p->epilogue_len == 0 ||
		      (p->epilogue_offset >= p->body_offset && p->epilogue_offset + p->epilogue_len == end));
		for (const struct mime_part *c = p->children; c != NULL; c = c->next) {
			size_t cend = c->body_offset + c->body_len;

			CHECK_UINT(c->offset, >=, prev_end);
			CHECK_UINT(cend, <=, end);
			count += check_part(c, p, c->offset, cend, lim, data);
			prev_end = cend;
		}
	} else if (strcmp(p->ct.type, "message") == 0 && strcmp(p->ct.subtype, "rfc822") == 0) {
		if (p->children != NULL) {
			CHECK(p->children->next == NULL);
			CHECK_UINT(p->children->offset, ==, p->body_offset);
			count += check_part(p->children, p, p->body_offset, end, lim, data);
		}
	} else {
		CHECK(p->children == NULL);
	}
	/* a leaf's decoded body: bounded; UTF-8 for text/x */
	if (p->children == NULL && p->depth < 6) {
		struct sbuf dec = {0}, raw = {0};

		mime_part_decoded(p, data, 1, &dec);
		if (strcmp(p->ct.type, "text") == 0)
			CHECK(utf8_valid(sbuf_str(&dec), dec.len));
		CHECK_UINT(dec.len, <=, 16 * p->body_len + 16);
		mime_part_decoded(p, data, 0, &raw);
		CHECK_UINT(raw.len, <=, p->body_len);
		sbuf_free(&dec);
		sbuf_free(&raw);
	}
	return count;
}

/* BODY[...] and BINARY[...] sections of the tree: bounded, and the header ones agree with a header-only read. */
static void check_sections(const char *data, size_t size, const struct mime_part *root,
			   bool default_limits)
{
	static const char *const specs[] = {"",     "HEADER", "TEXT", "MIME",
					    "HEADER.FIELDS (From Subject Content-Type X-Long)",
					    "HEADER.FIELDS.NOT (Received To)"};
	struct imap_parser *p = imap_parser_create(&big_limits);
	struct sbuf items = {0};
	struct fetch_request req;
	const struct imap_arg *args;
	const char *error = NULL;
	size_t nargs;

	sbuf_append_str(&items, "(BODY[]");
	for (int i = 0; i < 6; i++) {
		struct sbuf path = {0};
		size_t depth = rnd(4);
		const char *spec = specs[rnd(ARRAY_SIZE(specs))];

		for (size_t k = 0; k < depth; k++)
			sbuf_appendf(&path, "%s%zu", k > 0 ? "." : "", 1 + rnd(rnd(4) == 0 ? 9 : 3));
		if (depth == 0 && strcmp(spec, "MIME") == 0)
			spec = "TEXT";
		sbuf_appendf(&items, " BODY.PEEK[%s%s%s]", sbuf_str(&path),
			     depth > 0 && *spec != '\0' ? "." : "", spec);
		if (depth > 0 || rnd(2) == 0)
			sbuf_appendf(&items, " BINARY.PEEK[%s] BINARY.SIZE[%s]", sbuf_str(&path),
				     sbuf_str(&path));
		sbuf_free(&path);
	}
	sbuf_append_str(&items, ")");
	args = imap_parser_parse_values(p, items.data, items.len, &nargs, &error);
	CHECKF(args != NULL, "%s: %s", items.data, error);
	CHECKF(imap_fetch_parse(args, nargs, false, &req, &error) == 0, "%s: %s", items.data,
	       error);
	for (size_t i = 0; i < req.nsections; i++) {
		const struct fetch_section *sec = &req.sections[i];
		struct sbuf out = {0};
		enum section_result r = imap_fetch_section(sec, data, size, root, &out);

		CHECK(r == SECTION_OK || r == SECTION_NIL || r == SECTION_UNKNOWN_CTE);
		if (r != SECTION_OK) {
			CHECK(r == SECTION_NIL || sec->kind != SECTION_BODY);
			sbuf_free(&out);
			continue;
		}
		if (imap_fetch_section_whole(sec))
			CHECK(out.len == size && memcmp(sbuf_str(&out), data, size) == 0);
		if (sec->spec == SPEC_HEADER_FIELDS || sec->spec == SPEC_HEADER_FIELDS_NOT)
			CHECK_UINT(out.len, <=, 2 * size + 2);
		else
			CHECK_UINT(out.len, <=, size);
		/* a header section needs no tree: read from the header alone, the same bytes */
		if (default_limits && imap_fetch_section_header_only(sec)) {
			struct sbuf alone = {0};
			size_t part = root->body_offset + 16 < size ? root->body_offset + 16 : size;

			CHECK(imap_fetch_section(sec, data, part, NULL, &alone) == SECTION_OK);
			CHECKF(alone.len == out.len && memcmp(sbuf_str(&alone), sbuf_str(&out),
							      out.len) == 0,
			       "%s differs when read from the header alone", sec->name);
			sbuf_free(&alone);
		}
		sbuf_free(&out);
	}
	imap_fetch_request_free(&req);
	sbuf_free(&items);
	imap_parser_destroy(&p);
}

static void check_mime(const char *data, size_t size, const struct message_limits *lim,
		       bool default_limits)
{
	struct mime_part *root = NULL;
	const char *error = NULL;
	size_t count = 0, steps = 0;
	const struct mime_part *q;

	if (mime_parse(data, size, lim, &root, &error) < 0) {
		CHECK(root == NULL && error != NULL);
		return;
	}
	CHECK(root != NULL);
	CHECK(root->offset == 0);
	count = check_part(root, NULL, 0, size, lim, data);
	CHECK_UINT(count, <=, lim->max_mime_parts);
	for (q = root; q != NULL && steps <= count; q = mime_part_next(q, root))
		steps++;
	CHECK_UINT(steps, ==, count);
	/* header values of the parts: RFC 2047 decoding, Content-Type parsing */
	for (q = root; q != NULL; q = mime_part_next(q, root)) {
		for (size_t i = 0; i < q->header.count && i < 24; i++) {
			const struct message_field *f = &q->header.fields[i];
			struct mime_content_type ct;

			check_decode(f->value, f->value_len);
			if (mime_content_type_parse(f->value, f->value_len, &ct) == 0) {
				CHECK(is_token(ct.type) && is_token(ct.subtype));
				CHECK_UINT(ct.nparams, <=, 256);
				mime_content_type_clear(&ct);
			} else {
				CHECK(ct.type == NULL && ct.nparams == 0);
			}
		}
	}
	check_cached(root, data);
	check_sections(data, size, root, default_limits);
	mime_part_free(&root);
	CHECK(root == NULL);
}

/* One message under the default limits and under tight ones. */
static void fuzz_message(const char *input, size_t size)
{
	struct message_limits def, tight = {.max_header_size = 2000, .max_fields = 20,
					    .max_mime_depth = 3, .max_mime_parts = 10,
					    .max_boundary_len = 10};
	char *data = exact_copy(input, size);
	int64_t start = monotonic_ms();
	struct message *msg = NULL;
	const char *error = NULL;

	message_limits_default(&def);
	check_headers(data, size, &def);
	check_headers(data, size, &tight);
	if (message_parse(data, size, &def, &msg, &error) == 0) {
		size_t blen;
		const char *body = message_body(msg, &blen);

		CHECK(msg->size == size && msg->data[size] == '\0');
		CHECK(body == msg->data + msg->body_offset && msg->body_offset + blen == size);
		message_free(&msg);
		CHECK(msg == NULL);
	}
	check_mime(data, size, &def, true);
	check_mime(data, size, &tight, false);
	check_header_cache(data, size);
	CHECKF(monotonic_ms() - start < MAX_CASE_MS, "a message of %zu bytes took %lld ms", size,
	       (long long)(monotonic_ms() - start));
	free(data);
}

/* --- tests --- */

START_TEST(test_seeds)
{
	static const char *const fixed[] = {seed_mixed, seed_8bit, seed_digest, seed_broken,
					    seed_encoded, "", "Subject: no end", "\r\n", "\n\nbody"};

	fuzz_seed(1);
	build_seeds();
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		fuzz_message(fixed[i], strlen(fixed[i]));
	fuzz_message(seed_deep.data, seed_deep.len);
	fuzz_message(seed_many.data, seed_many.len);
	fuzz_message(seed_long.data, seed_long.len);
	/* every line-end style of every seed */
	for (int i = 0; i < 40; i++) {
		struct sbuf b = {0};

		seed_message(&b);
		fuzz_message(sbuf_str(&b), b.len);
		sbuf_free(&b);
	}
}
END_TEST

/* Bugs this test found, kept as fixed cases. */
START_TEST(test_regressions)
{
	struct sbuf m = {0}, preview = {0};
	struct mime_part *root = NULL;
	const char *error = NULL;

	/* imap_preview: a space pending at the 200th character was its last one */
	sbuf_append_str(&m, "Content-Type: text/plain\r\n\r\n");
	for (int i = 0; i < IMAP_PREVIEW_MAX_CHARS - 1; i++)
		sbuf_append_str(&m, "a");
	sbuf_append_str(&m, " bcd\r\n");
	CHECK(mime_parse(m.data, m.len, NULL, &root, &error) == 0);
	imap_preview(root, m.data, IMAP_PREVIEW_MAX_CHARS, &preview);
	CHECK_UINT(preview.len, ==, IMAP_PREVIEW_MAX_CHARS - 1);
	CHECK(preview.data[preview.len - 1] == 'a');
	mime_part_free(&root);
	fuzz_seed(9);
	fuzz_message(m.data, m.len);

	/* message_header_insert: a long line ending in white space before a line break was
	 * folded before that space, leaving a line of white space alone */
	{
		struct message_header hdr = {0};
		struct sbuf v = {0};

		for (int i = 0; i < 80; i++)
			sbuf_append_str(&v, "x");
		sbuf_append_str(&v, " \nmore\t\r\nend");
		message_header_insert(&hdr, 0, "X-Long", v.data, v.len);
		CHECKF(strstr(hdr.fields[0].raw, "\n \r") == NULL &&
			       strstr(hdr.fields[0].raw, "\n\t\r") == NULL,
		       "raw \"%s\"", hdr.fields[0].raw);
		CHECK(strcmp(hdr.fields[0].value, "") != 0);
		check_header_edit(&hdr);
		message_header_clear(&hdr);
		sbuf_free(&v);
	}
	sbuf_free(&m);
	sbuf_free(&preview);
}
END_TEST

START_TEST(test_mutated_messages)
{
	unsigned long n = fuzz_rounds(DEFAULT_ROUNDS);

	fuzz_seed(2);
	for (unsigned long i = 0; i < n; i++) {
		struct sbuf b = {0};

		seed_message(&b);
		mutate(&b);
		fuzz_message(sbuf_str(&b), b.len);
		sbuf_free(&b);
	}
}
END_TEST

START_TEST(test_random_messages)
{
	unsigned long n = fuzz_rounds(DEFAULT_ROUNDS) / 2;

	fuzz_seed(3);
	for (unsigned long i = 0; i < n; i++) {
		struct sbuf b = {0};

		for (size_t k = 0, len = rnd(rnd(4) == 0 ? 600 : 80); k < len; k++)
			add_piece(&b);
		fuzz_message(sbuf_str(&b), b.len);
		sbuf_free(&b);
	}
}
END_TEST

/* A random code point; every kind of character a header may need encoded. */
static void put_random_char(struct sbuf *b)
{
	uint32_t cp;
	unsigned char u[4];

	switch (rnd(6)) {
	case 0:
	case 1:
		cp = (uint32_t)(0x20 + rnd(0x5f));
		break;
	case 2:
		cp = (uint32_t)rnd(0x20);
		break;
	case 3:
		cp = (uint32_t)(0x80 + rnd(0x780));
		break;
	case 4:
		cp = (uint32_t)(0x800 + rnd(0xf800));
		if (cp >= 0xd800 && cp <= 0xdfff)
			cp = 0xfffd;
		break;
	default:
		cp = (uint32_t)(0x10000 + rnd(0x100000));
		break;
	}
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		sbuf_append(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		sbuf_append(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		sbuf_append(b, u, 3);
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		sbuf_append(b, u, 4);
	}
}

START_TEST(test_header_words)
{
	static const char *const words[] = {"=?utf-8?q?", "?=", "=?", "?", "=", "_", " ", "\r\n ",
					    "=?utf-8?b?w6k=?=", "=?iso-8859-1?q?=E9?=", "\t"};
	unsigned long n = fuzz_rounds(DEFAULT_ROUNDS) * 4;

	fuzz_seed(4);
	for (unsigned long i = 0; i < n; i++) {
		struct sbuf s = {0}, dec = {0};
		size_t len = rnd(rnd(4) == 0 ? 200 : 24);
		char *copy;

		for (size_t k = 0; k < len; k++) {
			if (rnd(6) == 0)
				sbuf_append_str(&s, words[rnd(ARRAY_SIZE(words))]);
			else
				put_random_char(&s);
		}
		copy = exact_copy(sbuf_str(&s), s.len);
		check_encode(copy, s.len);
		/* whatever decoding gives is UTF-8, which must encode and decode back */
		if (rnd(2) == 0)
			mutate(&s);
		free(copy);
		copy = exact_copy(sbuf_str(&s), s.len);
		check_decode(copy, s.len);
		mime_header_decode(copy, s.len, &dec);
		check_encode(sbuf_str(&dec), dec.len);
		free(copy);
		sbuf_free(&s);
		sbuf_free(&dec);
	}
}
END_TEST

/* An independent base64 (RFC 2045 6.8) and quoted-printable (6.7) encoder. */
static void encode_b64(const unsigned char *in, size_t len, struct sbuf *out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < len ? in[i + 2] : 0);
		char q[4] = {al[v >> 18], al[v >> 12 & 63], i + 1 < len ? al[v >> 6 & 63] : '=',
			     i + 2 < len ? al[v & 63] : '='};

		sbuf_append(out, q, 4);
		if (i % 57 == 54)
			sbuf_append_str(out, "\r\n");
	}
}

static void encode_qp(const unsigned char *in, size_t len, struct sbuf *out)
{
	size_t line = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = in[i];

		if (line >= 70) {
			sbuf_append_str(out, "=\r\n");
			line = 0;
		}
		if ((c >= 33 && c <= 126 && c != '=') || (c == ' ' && i + 1 < len && line < 69)) {
			sbuf_append(out, &c, 1);
			line++;
		} else {
			sbuf_appendf(out, "=%02X", c);
			line += 3;
		}
	}
}

START_TEST(test_transfer_and_charsets)
{
	static const char *const encodings[] = {"base64", "quoted-printable", "7bit", "BASE64",
						"x-unknown", NULL};
	static const char *const known[] = {"utf-8", "iso-8859-1", "windows-1252", "utf-16",
					    "utf-16le", "utf-7", "iso-2022-jp", "shift_jis",
					    "gb18030", "big5", "koi8-r", "us-ascii", "UTF-32"};
	static const char *const unknown[] = {"x-nope", "utf-8\"", "a b",
					      "0123456789012345678901234567890123456789012345678901234567890123456789"};
	unsigned long n = fuzz_rounds(DEFAULT_ROUNDS) * 2;

	fuzz_seed(5);
	for (unsigned long i = 0; i < n; i++) {
		size_t len = rnd(rnd(4) == 0 ? 3000 : 100);
		unsigned char *raw = xmalloc(len + 1);
		struct sbuf enc = {0}, dec = {0};
		char *copy;

		for (size_t k = 0; k < len; k++)
			raw[k] = (unsigned char)(rnd(3) == 0 ? rnd(256) : 0x20 + rnd(0x5f));
		/* encoded by another encoder, decoded back to the same bytes */
		encode_b64(raw, len, &enc);
		copy = exact_copy(enc.data, enc.len);
		mime_base64_decode(copy, enc.len, &dec);
		CHECK(dec.len == len && memcmp(sbuf_str(&dec), raw, len) == 0);
		free(copy);
		sbuf_reset(&enc);
		sbuf_reset(&dec);
		encode_qp(raw, len, &enc);
		copy = exact_copy(enc.data, enc.len);
		mime_qp_decode(copy, enc.len, &dec);
		CHECKF(dec.len == len && memcmp(sbuf_str(&dec), raw, len) == 0,
		       "quoted-printable round trip of %zu bytes gives %zu", len, dec.len);
		free(copy);
		/* any bytes in any encoding: never more out than in */
		copy = exact_copy(raw, len);
		for (size_t e = 0; e < ARRAY_SIZE(encodings); e++) {
			sbuf_reset(&dec);
			mime_transfer_decode(encodings[e], copy, len, &dec);
			CHECK_UINT(dec.len, <=, len);
		}
		/* any bytes in any charset: UTF-8 out, -1 only for an unknown charset */
		{
			bool is_known = rnd(4) != 0;
			const char *cs = is_known ? known[rnd(ARRAY_SIZE(known))]
						  : unknown[rnd(ARRAY_SIZE(unknown))];

			sbuf_reset(&dec);
			CHECK(mime_charset_to_utf8(cs, copy, len, &dec) == (is_known ? 0 : -1));
			CHECKF(utf8_valid(sbuf_str(&dec), dec.len), "%s gives invalid UTF-8", cs);
			CHECK_UINT(dec.len, <=, 16 * len + 16);
			sbuf_reset(&enc);
			mime_utf8_sanitize(copy, len, &enc);
			CHECK(utf8_valid(sbuf_str(&enc), enc.len));
			if (utf8_valid(copy, len))
				CHECK(enc.len == len && memcmp(enc.data, copy, len) == 0);
		}
		free(copy);
		free(raw);
		sbuf_free(&enc);
		sbuf_free(&dec);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("message_fuzz");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	/* a long run (SLUICE_FUZZ_ITERATIONS) may take minutes */
	tcase_set_timeout(tc, 0);
	tcase_add_test(tc, test_regressions);
	tcase_add_test(tc, test_seeds);
	tcase_add_test(tc, test_mutated_messages);
	tcase_add_test(tc, test_random_messages);
	tcase_add_test(tc, test_header_words);
	tcase_add_test(tc, test_transfer_and_charsets);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	sbuf_free(&seed_deep);
	sbuf_free(&seed_many);
	sbuf_free(&seed_long);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
