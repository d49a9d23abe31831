/*
 * test_imap_envelope.c: the ENVELOPE, BODYSTRUCTURE and preview the store
 * caches (lib/imap_envelope.c), table-driven over small messages: defaults
 * for Sender and Reply-To, quoting and literals, multipart, message/rfc822,
 * dispositions, HTML previews and their length limit; and the reader that
 * takes a cached ENVELOPE apart again (imap_env_read) on what the writer
 * makes and on malformed text; the cached header fields.
 */
#include "imap_envelope.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cached {
	struct sbuf envelope, body, bodystructure, preview;
};

static void compute(const char *msg, struct cached *c)
{
	struct mime_part *root = NULL;
	const char *error = NULL;

	memset(c, 0, sizeof(*c));
	ck_assert_msg(mime_parse(msg, strlen(msg), NULL, &root, &error) == 0, "%s", error);
	imap_envelope(&root->header, &c->envelope);
	imap_bodystructure(root, msg, false, &c->body);
	imap_bodystructure(root, msg, true, &c->bodystructure);
	imap_preview(root, msg, IMAP_PREVIEW_MAX_CHARS, &c->preview);
	mime_part_free(&root);
}

static void cached_free(struct cached *c)
{
	sbuf_free(&c->envelope);
	sbuf_free(&c->body);
	sbuf_free(&c->bodystructure);
	sbuf_free(&c->preview);
}

START_TEST(test_envelope)
{
	static const struct {
		const char *msg, *want;
	} cases[] = {
	    {"From: Ann <ann@a.test>\r\nTo: b@b.test, \"Carl \\\"C\\\"\" <c@c.test>\r\n"
	     "Subject: hi\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: "
	     "<x@y>\r\n\r\nbody\r\n",
	     "(\"Mon, 1 Jan 2024 00:00:00 +0000\" \"hi\" ((\"Ann\" NIL \"ann\" \"a.test\")) "
	     "((\"Ann\" NIL \"ann\" \"a.test\")) ((\"Ann\" NIL \"ann\" \"a.test\")) "
	     "((NIL NIL \"b\" \"b.test\")(\"Carl \\\"C\\\"\" NIL \"c\" \"c.test\")) NIL NIL NIL "
	     "\"<x@y>\")"},
	    /* Sender and Reply-To given: not the From; empty Cc is NIL */
	    {"From: a@a.test\r\nSender: s@s.test\r\nReply-To: r@r.test\r\nCc:\r\n"
	     "In-Reply-To: <p@q>\r\n\r\n",
	     "(NIL NIL ((NIL NIL \"a\" \"a.test\")) ((NIL NIL \"s\" \"s.test\")) "
	     "((NIL NIL \"r\" \"r.test\")) NIL NIL NIL \"<p@q>\" NIL)"},
	    /* 8-bit text is a literal; a bare local part gets a placeholder domain */
	    {"Subject: caf\xc3\xa9\r\nTo: undisclosed\r\n\r\n",
	     "(NIL {5}\r\ncaf\xc3\xa9 NIL NIL NIL ((NIL NIL \"undisclosed\" \"MISSING_DOMAIN\")) "
	     "NIL "
	     "NIL NIL NIL)"},
	    /* no header at all */
	    {"\r\njust a body\r\n", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cached c;

		compute(cases[i].msg, &c);
		ck_assert_msg(strcmp(sbuf_str(&c.envelope), cases[i].want) == 0,
		              "case %zu:\n got  %s\n want %s", i, sbuf_str(&c.envelope),
		              cases[i].want);
		cached_free(&c);
	}
}
END_TEST

START_TEST(test_bodystructure)
{
	static const struct {
		const char *msg, *body, *bodystructure;
	} cases[] = {
	    {"Subject: x\r\n\r\nline one\r\nline two\r\n",
	     "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 20 2)",
	     "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 20 2 NIL NIL NIL "
	     "NIL)"},
	    {"Content-Type: multipart/alternative; boundary=b\r\n\r\npre\r\n--b\r\n"
	     "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
	     "quoted-printable\r\n\r\nhi=\r\n--b\r\nContent-Type: text/html\r\nContent-Language: "
	     "en, de\r\n\r\n<p>hi</p>\r\n--b--\r\n",
	     "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 3 1)"
	     "(\"TEXT\" \"HTML\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 9 1) \"ALTERNATIVE\")",
	     "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 3 1 NIL "
	     "NIL "
	     "NIL NIL)(\"TEXT\" \"HTML\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 9 1 NIL NIL "
	     "(\"en\" \"de\") NIL) \"ALTERNATIVE\" (\"BOUNDARY\" \"b\") NIL NIL NIL)"},
	    {"Content-Type: message/rfc822\r\nContent-ID: <id1>\r\n\r\nSubject: "
	     "inner\r\n\r\nin\r\n",
	     "(\"MESSAGE\" \"RFC822\" NIL \"<id1>\" NIL \"7BIT\" 22 (NIL \"inner\" NIL NIL NIL NIL "
	     "NIL "
	     "NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 4 1) 3)",
	     "(\"MESSAGE\" \"RFC822\" NIL \"<id1>\" NIL \"7BIT\" 22 (NIL \"inner\" NIL NIL NIL NIL "
	     "NIL "
	     "NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 4 1 NIL "
	     "NIL "
	     "NIL NIL) 3 NIL NIL NIL NIL)"},
	    /* a multipart without any delimiter still shows one part */
	    {"Content-Type: multipart/mixed; boundary=zz\r\n\r\nno parts\r\n",
	     "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 0 0) \"MIXED\")",
	     "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 0 0) \"MIXED\" "
	     "(\"BOUNDARY\" \"zz\") NIL NIL NIL)"},
	    {"Content-Type: image/png; name=\"a b.png\"\r\nContent-Disposition: attachment; "
	     "filename=\"a b.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBO\r\n",
	     "(\"IMAGE\" \"PNG\" (\"NAME\" \"a b.png\") NIL NIL \"BASE64\" 6)",
	     "(\"IMAGE\" \"PNG\" (\"NAME\" \"a b.png\") NIL NIL \"BASE64\" 6 NIL (\"ATTACHMENT\" "
	     "(\"FILENAME\" \"a b.png\")) NIL NIL)"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cached c;

		compute(cases[i].msg, &c);
		ck_assert_msg(strcmp(sbuf_str(&c.body), cases[i].body) == 0,
		              "case %zu BODY:\n got  %s\n want %s", i, sbuf_str(&c.body),
		              cases[i].body);
		ck_assert_msg(strcmp(sbuf_str(&c.bodystructure), cases[i].bodystructure) == 0,
		              "case %zu BODYSTRUCTURE:\n got  %s\n want %s", i,
		              sbuf_str(&c.bodystructure), cases[i].bodystructure);
		cached_free(&c);
	}
}
END_TEST

START_TEST(test_preview)
{
	static const struct {
		const char *msg, *want;
	} cases[] = {
	    {"Subject: x\r\n\r\n  Hello,\r\n\r\n\tworld  \r\n", "Hello, world"},
	    /* the plain part wins over HTML; attachments are skipped */
	    {"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Disposition: "
	     "attachment\r\n\r\nnot this\r\n--b\r\nContent-Type: text/html\r\n\r\n<html><style>p "
	     "{}</style><p>Caf&eacute; &amp; <b>bar</b>&nbsp;!</p></html>\r\n--b--\r\n",
	     "Caf&eacute; & bar !"},
	    {"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: "
	     "quoted-printable\r\n\r\nGr=FC=DFe\r\n",
	     "Gr\xc3\xbc\xc3\x9f"
	     "e"},
	    {"Content-Type: application/octet-stream\r\n\r\nbinary\r\n", ""},
	};
	struct cached c;
	struct sbuf longmsg = {0};
	size_t chars = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		compute(cases[i].msg, &c);
		ck_assert_msg(strcmp(sbuf_str(&c.preview), cases[i].want) == 0,
		              "case %zu:\n got  '%s'\n want '%s'", i, sbuf_str(&c.preview),
		              cases[i].want);
		cached_free(&c);
	}
	/* at most IMAP_PREVIEW_MAX_CHARS characters, not bytes, and never a cut character */
	sbuf_append_str(&longmsg, "Subject: long\r\n\r\n");
	for (int i = 0; i < 300; i++)
		sbuf_append_str(&longmsg, "\xc3\xa9");
	compute(longmsg.data, &c);
	for (size_t i = 0; i < c.preview.len; i++)
		chars += ((unsigned char)c.preview.data[i] & 0xc0) != 0x80;
	ck_assert_uint_eq(chars, IMAP_PREVIEW_MAX_CHARS);
	ck_assert_uint_eq(c.preview.len, 2 * IMAP_PREVIEW_MAX_CHARS);
	cached_free(&c);
	sbuf_free(&longmsg);
}
END_TEST

START_TEST(test_nstring)
{
	struct sbuf out = {0};

	imap_append_nstring(&out, NULL, 0);
	imap_append_nstring(&out, "a\"b\\c", 5);
	imap_append_nstring(&out, "x\r\ny", 4);
	/* a NUL is dropped, invalid UTF-8 becomes U+FFFD */
	imap_append_nstring(&out, "n\0\xff", 3);
	ck_assert_str_eq(sbuf_str(&out), "NIL\"a\\\"b\\\\c\"{4}\r\nx\r\ny{4}\r\nn\xef\xbf\xbd");
	sbuf_free(&out);
}
END_TEST

/* Arbitrary bytes never crash the parsers nor produce invalid UTF-8. */
static char *env_str(const struct imap_env_string *str)
{
	struct sbuf out = {0};
	char *s = NULL;

	if (imap_env_string_append(str, &out))
		s = xstrdup(sbuf_str(&out));
	sbuf_free(&out);
	return s;
}

static void check_str(const struct imap_env_string *str, const char *want)
{
	char *got = env_str(str);

	if (want == NULL)
		ck_assert_msg(got == NULL, "want NIL, got '%s'", got);
	else
		ck_assert_msg(got != NULL && strcmp(got, want) == 0, "want '%s', got '%s'", want,
		              got != NULL ? got : "NIL");
	free(got);
}

START_TEST(test_env_read)
{
	struct cached c;
	struct imap_env e;
	struct imap_env_address a;
	struct imap_env_list l;

	compute("Date: Tue, 3 Jan 2023 10:00:00 +0100\r\n"
	        "Subject: say \"hi\" \\ there\r\n"
	        "From: \"Fred \\\"Q\\\" Foo\" <fred@example.org>\r\n"
	        "To: a@example.test, =?utf-8?q?J=C3=BCrgen?= <j@example.de>, undisclosed:;\r\n"
	        "Cc: =?utf-8?b?R3LDvMOfZQ==?= <g@example.de>\r\n"
	        "Message-ID: <m1@example.org>\r\n"
	        "\r\nbody\r\n",
	        &c);
	ck_assert_int_eq(imap_env_read(c.envelope.data, c.envelope.len, &e), 0);
	check_str(&e.date, "Tue, 3 Jan 2023 10:00:00 +0100");
	check_str(&e.subject, "say \"hi\" \\ there");
	check_str(&e.in_reply_to, NULL);
	check_str(&e.message_id, "<m1@example.org>");
	/* From, and Sender and Reply-To defaulting to it */
	for (int f = IMAP_ENV_FROM; f <= IMAP_ENV_REPLY_TO; f++) {
		l = e.addr[f];
		ck_assert(imap_env_next_address(&l, &a));
		check_str(&a.name, "Fred \"Q\" Foo");
		check_str(&a.adl, NULL);
		check_str(&a.mailbox, "fred");
		check_str(&a.host, "example.org");
		ck_assert(!imap_env_next_address(&l, &a));
	}
	l = e.addr[IMAP_ENV_TO];
	ck_assert(imap_env_next_address(&l, &a));
	check_str(&a.name, NULL);
	check_str(&a.mailbox, "a");
	ck_assert(imap_env_next_address(&l, &a));
	check_str(&a.name, "=?utf-8?q?J=C3=BCrgen?=");
	check_str(&a.host, "example.de");
	/* the empty group: its start (mailbox "undisclosed", no host) and its end */
	while (imap_env_next_address(&l, &a))
		ck_assert(a.host.data == NULL || a.mailbox.data != NULL);
	l = e.addr[IMAP_ENV_BCC];
	ck_assert(!imap_env_next_address(&l, &a));
	cached_free(&c);

	/* a literal: a subject that cannot be quoted */
	compute("Subject: caf\xc3\xa9 {x}\r\nFrom: a@b.test\r\n\r\nx\r\n", &c);
	ck_assert_ptr_nonnull(strchr(c.envelope.data, '{'));
	ck_assert_int_eq(imap_env_read(c.envelope.data, c.envelope.len, &e), 0);
	check_str(&e.subject, "caf\xc3\xa9 {x}");
	cached_free(&c);

	/* malformed text is refused, whole or cut anywhere */
	static const char *const bad[] = {
	    "", "(", "NIL", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL)", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ",
	    "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)", "(\"a NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	    "({99}\r\nab NIL NIL NIL NIL NIL NIL NIL NIL NIL)", "({2}ab NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	    "(NIL NIL ((NIL NIL NIL NIL) NIL NIL NIL NIL NIL NIL NIL)", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL \"x\\)",
	    "({18446744073709551615}\r\n NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(imap_env_read(bad[i], strlen(bad[i]), &e) < 0, "accepted %s", bad[i]);
	compute("Subject: s\r\nFrom: \"N\" <a@b.test>, c@d.test\r\n\r\nx\r\n", &c);
	for (size_t cut = 0; cut < c.envelope.len; cut++)
		ck_assert_int_lt(imap_env_read(c.envelope.data, cut, &e), 0);
	/* an address list that is not addresses ends the walk, never reads past it */
	static const char odd[] = "(NIL NIL ((\"x\" NIL) (NIL NIL \"m\" \"h\")) NIL NIL NIL NIL NIL NIL NIL)";
	ck_assert_int_eq(imap_env_read(odd, strlen(odd), &e), 0);
	l = e.addr[IMAP_ENV_FROM];
	ck_assert(!imap_env_next_address(&l, &a));
	ck_assert(!imap_env_next_address(&l, &a));
	cached_free(&c);
}
END_TEST

START_TEST(test_header_cache)
{
	static const char msg[] = "Received: from x\r\nFROM: a@b.test\r\nSubject: one\r\n two\r\n"
	                          "X-Other: y\r\nreferences: <r@x>\r\n\r\nbody Subject: no\r\n";
	char *names[] = {"subject", "REFERENCES"};
	struct message_header hdr = {0};
	struct sbuf out = {0}, sub = {0};
	const char *error;
	size_t hsize;

	ck_assert(imap_header_cached("From", 4) && imap_header_cached("x-priority", 10));
	ck_assert(!imap_header_cached("Received", 8) && !imap_header_cached("Fro", 3) &&
	          !imap_header_cached("Delivered-To", 12) && !imap_header_cached("Return-Path", 11));
	ck_assert(imap_header_cache(msg, strlen(msg), &out));
	ck_assert_str_eq(sbuf_str(&out), "FROM: a@b.test\r\nSubject: one\r\n two\r\n"
	                                 "references: <r@x>\r\n\r\n");
	/* a subset of the cache is the same subset of the message */
	ck_assert_int_eq(message_header_parse(out.data, out.len, NULL, &hdr, &hsize, &error), 0);
	imap_header_fields(&hdr, names, 2, true, &sub);
	ck_assert_str_eq(sbuf_str(&sub), "Subject: one\r\n two\r\nreferences: <r@x>\r\n\r\n");
	message_header_clear(&hdr);
	sbuf_reset(&sub);
	ck_assert_int_eq(message_header_parse(msg, strlen(msg), NULL, &hdr, &hsize, &error), 0);
	imap_header_fields(&hdr, names, 2, true, &sub);
	ck_assert_str_eq(sbuf_str(&sub), "Subject: one\r\n two\r\nreferences: <r@x>\r\n\r\n");
	sbuf_reset(&sub);
	imap_header_fields(&hdr, names, 2, false, &sub);
	ck_assert_str_eq(sbuf_str(&sub), "Received: from x\r\nFROM: a@b.test\r\nX-Other: y\r\n\r\n");
	message_header_clear(&hdr);
	sbuf_free(&sub);

	/* not cached: leading white space, 8-bit that is not UTF-8, a NUL; out is left as it was */
	static const struct {
		const char *data;
		size_t len;
	} no[] = {
	    {" x\r\nSubject: a\r\n\r\n", 20},
	    {"Subject: caf\xe9\r\n\r\n", 17},
	    {"Subject: a\0b\r\n\r\n", 16},
	};
	for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
		sbuf_reset(&out);
		sbuf_append_str(&out, "kept");
		ck_assert_msg(!imap_header_cache(no[i].data, no[i].len, &out), "case %zu", i);
		ck_assert_str_eq(sbuf_str(&out), "kept");
	}
	/* UTF-8 is cached */
	sbuf_reset(&out);
	ck_assert(imap_header_cache("Subject: caf\xc3\xa9\r\n\r\n", 18, &out));
	/* a header near the parser's limit is not (the prefix adds to it at FETCH time) */
	struct sbuf big = {0};
	while (big.len < 1024 * 1024 - 4096)
		sbuf_append_str(&big, "X-Filler: 0123456789012345678901234567890123456789\r\n");
	sbuf_append_str(&big, "\r\n");
	sbuf_reset(&out);
	ck_assert(!imap_header_cache(big.data, big.len, &out));
	sbuf_free(&big);
	sbuf_free(&out);
}
END_TEST

START_TEST(test_garbage)
{
	unsigned int seed = 12345;
	char buf[2048];

	for (int round = 0; round < 300; round++) {
		struct mime_part *root = NULL;
		struct sbuf out = {0};
		const char *error;
		size_t len = (size_t)(rand_r(&seed) % (sizeof(buf) - 1));
		static const char alphabet[] =
		    "Content-Type: multipart/mixed; boundary=\"--\r\n\x80\xff"
		    "message/rfc822 text/html<>\"\\";

		for (size_t i = 0; i < len; i++)
			buf[i] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		buf[len] = '\0';
		if (mime_parse(buf, len, NULL, &root, &error) < 0)
			continue;
		imap_envelope(&root->header, &out);
		imap_bodystructure(root, buf, true, &out);
		imap_preview(root, buf, 50, &out);
		ck_assert_ptr_null(memchr(out.data, '\0', out.len));
		mime_part_free(&root);
		sbuf_free(&out);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("imap_envelope");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_envelope);
	tcase_add_test(tc, test_bodystructure);
	tcase_add_test(tc, test_preview);
	tcase_add_test(tc, test_nstring);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_env_read);
	tcase_add_test(tc, test_header_cache);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
