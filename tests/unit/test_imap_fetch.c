/*
 * test_imap_fetch.c: FETCH items and body sections (imapd/imap_fetch_parse.c,
 * imapd/imap_fetch_body.c) without a server: the items parsed from
 * arguments, the names responses give sections, and the bytes of each
 * section of a nested MIME message (parts inside message/rfc822, MIME,
 * HEADER.FIELDS[.NOT], TEXT, BINARY decoding, parts that do not exist).
 */
#include "imap_fetch.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const struct imap_parser_limits lim = {
    .max_line = 4096, .max_command = 65536, .max_depth = 8, .max_args = 1000};

/* Parse "items" as FETCH arguments (after the sequence set). */
static int parse(const char *items, bool uid, struct fetch_request *req, const char **error_r)
{
	struct imap_parser *p = imap_parser_create(&lim);
	const struct imap_arg *args;
	size_t n;
	int rc;

	args = imap_parser_parse_values(p, items, strlen(items), &n, error_r);
	ck_assert_msg(args != NULL, "cannot parse %s", items);
	rc = imap_fetch_parse(args, n, uid, req, error_r);
	imap_parser_destroy(&p);
	return rc;
}

START_TEST(test_items)
{
	struct fetch_request req;
	const char *error;

	ck_assert_int_eq(parse("ALL", false, &req, &error), 0);
	ck_assert_uint_eq(req.bits, FETCH_FLAGS | FETCH_INTERNALDATE | FETCH_SIZE | FETCH_ENVELOPE);
	imap_fetch_request_free(&req);
	ck_assert_int_eq(parse("FULL", true, &req, &error), 0);
	ck_assert(req.bits & FETCH_BODY && req.bits & FETCH_UID && req.needs_message);
	imap_fetch_request_free(&req);
	ck_assert_int_eq(parse("(FLAGS MODSEQ) (CHANGEDSINCE 12345 VANISHED)", true, &req, &error), 0);
	ck_assert_int_eq(req.changedsince, 12345);
	ck_assert(req.vanished && (req.bits & FETCH_MODSEQ));
	imap_fetch_request_free(&req);
	ck_assert_int_eq(parse("(BODY.PEEK[HEADER.FIELDS (From \"to\")]<0.100> BODY[1.2.MIME] "
			       "BINARY.PEEK[3] BINARY.SIZE[3] RFC822 RFC822.HEADER)",
			       false, &req, &error),
			 0);
	ck_assert_uint_eq(req.nsections, 6);
	ck_assert_str_eq(req.sections[0].name, "BODY[HEADER.FIELDS (FROM TO)]<0>");
	ck_assert(req.sections[0].peek && req.sections[0].partial && req.sections[0].length == 100);
	ck_assert_str_eq(req.sections[1].name, "BODY[1.2.MIME]");
	ck_assert_str_eq(req.sections[2].name, "BINARY[3]");
	ck_assert_str_eq(req.sections[3].name, "BINARY.SIZE[3]");
	ck_assert_str_eq(req.sections[4].name, "RFC822");
	ck_assert_str_eq(req.sections[5].name, "RFC822.HEADER");
	ck_assert(req.sets_seen && req.needs_message && req.needs_header);
	imap_fetch_request_free(&req);
	ck_assert_int_eq(parse("BODY.PEEK[]", false, &req, &error), 0);
	ck_assert(!req.sets_seen && !req.needs_message && !req.needs_header);
	imap_fetch_request_free(&req);

	static const char *const bad[] = {
	    "(FLAGS ALL)", "()", "BOGUS", "BODY[0]", "BODY[1.]", "BODY[MIME]", "BODY[1.FOO]",
	    "BODY[]<1>", "BODY[]<1.0>", "BINARY[HEADER]", "BINARY.SIZE[1]<0.1>",
	    "BODY[HEADER.FIELDS ()]", "BODY[HEADER.FIELDS (a:b)]", "FLAGS (CHANGEDSINCE x)",
	    "FLAGS (CHANGEDSINCE 0)",
	    "FLAGS (VANISHED)", "BODY[01]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i], true, &req, &error) < 0, "%s parsed", bad[i]);
		imap_fetch_request_free(&req);
	}
}
END_TEST

static const char message[] =
    "From: a@example.org\r\n"
    "Subject: outer\r\n"
    "Content-Type: multipart/mixed; boundary=X\r\n"
    "\r\n"
    "--X\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "caf=C3=A9\r\n"
    "--X\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "Content-Type: multipart/alternative; boundary=Y\r\n"
    "\r\n"
    "--Y\r\n"
    "\r\n"
    "plain\r\n"
    "--Y\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<b>html</b>\r\n"
    "--Y--\r\n"
    "--X\r\n"
    "Content-Type: application/x-odd\r\n"
    "Content-Transfer-Encoding: x-odd\r\n"
    "\r\n"
    "?\r\n"
    "--X--\r\n";

START_TEST(test_sections)
{
	static const struct {
		const char *item;
		enum section_result result;
		const char *want;
	} cases[] = {
	    {"BODY[1]", SECTION_OK, "caf=C3=A9"},
	    {"BINARY[1]", SECTION_OK, "caf\xc3\xa9"},
	    {"BODY[1.MIME]", SECTION_OK,
	     "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"},
	    {"BODY[2.HEADER]", SECTION_OK,
	     "Subject: inner\r\nContent-Type: multipart/alternative; boundary=Y\r\n\r\n"},
	    {"BODY[2.HEADER.FIELDS (subject)]", SECTION_OK, "Subject: inner\r\n\r\n"},
	    {"BODY[2.1]", SECTION_OK, "plain"},
	    {"BODY[2.2]", SECTION_OK, "<b>html</b>"},
	    {"BODY[2.2.MIME]", SECTION_OK, "Content-Type: text/html\r\n\r\n"},
	    {"BODY[2.TEXT]", SECTION_OK,
	     "--Y\r\n\r\nplain\r\n--Y\r\nContent-Type: text/html\r\n\r\n<b>html</b>\r\n--Y--"},
	    {"BODY[HEADER.FIELDS.NOT (Content-Type From)]", SECTION_OK, "Subject: outer\r\n\r\n"},
	    {"BODY[1.HEADER]", SECTION_NIL, ""},
	    {"BODY[4]", SECTION_NIL, ""},
	    {"BODY[1.1]", SECTION_NIL, ""},
	    {"BODY[2.3]", SECTION_NIL, ""},
	    {"BINARY[3]", SECTION_UNKNOWN_CTE, ""},
	};
	struct mime_part *root;
	const char *error;

	ck_assert_int_eq(mime_parse(message, sizeof(message) - 1, NULL, &root, &error), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fetch_request req;
		struct sbuf out = {0};
		enum section_result r;

		ck_assert_int_eq(parse(cases[i].item, false, &req, &error), 0);
		r = imap_fetch_section(&req.sections[0], message, sizeof(message) - 1, root, &out);
		ck_assert_msg(r == cases[i].result, "%s: result %d", cases[i].item, r);
		ck_assert_msg(strcmp(sbuf_str(&out), cases[i].want) == 0, "%s:\n got  '%s'\n want '%s'",
			      cases[i].item, sbuf_str(&out), cases[i].want);
		sbuf_free(&out);
		imap_fetch_request_free(&req);
	}
	/* the header alone, without a MIME tree (only the header was read) */
	{
		struct fetch_request req;
		struct sbuf out = {0};

		ck_assert_int_eq(parse("BODY.PEEK[HEADER.FIELDS (FROM)]", false, &req, &error), 0);
		ck_assert_int_eq(imap_fetch_section(&req.sections[0], message, 80, NULL, &out),
				 SECTION_OK);
		ck_assert_str_eq(sbuf_str(&out), "From: a@example.org\r\n\r\n");
		sbuf_free(&out);
		imap_fetch_request_free(&req);
	}
	mime_part_free(&root);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("imap_fetch");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_items);
	tcase_add_test(tc, test_sections);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
