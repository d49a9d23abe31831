/*
 * test_imap_parser.c: the IMAP command parser (imapd/imap_parser.c),
 * table-driven. Each case is fed whole, in chunks of 7 bytes and one byte
 * at a time; the events (commands with their arguments written back in a
 * canonical form, literal announcements, errors) must be the same each
 * time. Literals are accepted as announced, as a client expecting
 * continuation requests would see.
 */
#include "imap_parser.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct imap_parser_limits default_limits = {
    .max_line = 200,
    .max_command = 1000,
    .max_skip = 100,
    .max_depth = 4,
    .max_args = 30,
};

static void dump_args(const struct imap_arg *a, size_t n, struct sbuf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			sbuf_append_str(out, " ");
		switch (a[i].type) {
		case IMAP_ARG_ATOM:
			sbuf_append(out, a[i].str, a[i].len);
			break;
		case IMAP_ARG_STRING:
			sbuf_appendf(out, "\"%s\"", a[i].str);
			break;
		case IMAP_ARG_LITERAL:
			sbuf_appendf(out, "%s{%zu}", a[i].literal8 ? "~" : "", a[i].len);
			for (size_t k = 0; k < a[i].len; k++)
				sbuf_appendf(out, a[i].str[k] == 0 ? "\\0" : "%c", a[i].str[k]);
			break;
		case IMAP_ARG_LIST:
			sbuf_append_str(out, "(");
			dump_args(a[i].list, a[i].count, out);
			sbuf_append_str(out, ")");
			break;
		case IMAP_ARG_STREAMED:
			sbuf_appendf(out, "<S%zu>", a[i].stream_index);
			break;
		}
	}
}

/* Feed input in chunks of `chunk` bytes (0: whole); the events as text. */
static char *run(const struct imap_parser_limits *lim, const char *input, size_t len, size_t chunk)
{
	struct imap_parser *p = imap_parser_create(lim);
	struct sbuf out = {0};
	size_t pos = 0;

	while (pos < len) {
		size_t n = chunk == 0 || len - pos < chunk ? len - pos : chunk, used = 0;
		enum imap_parse_result r = imap_parser_feed(p, input + pos, n, &used);

		pos += used;
		switch (r) {
		case IMAP_PARSE_MORE:
			break;
		case IMAP_PARSE_LITERAL: {
			const struct imap_literal *lit = imap_parser_literal(p);
			sbuf_appendf(&out, "[LIT %llu%s%s%s d%u i%zu]", (unsigned long long)lit->size,
				     lit->sync ? "" : "+", lit->literal8 ? " 8" : "",
				     lit->skipping ? " skip" : "", lit->depth, lit->top_index);
			r = imap_parser_literal_accept(p);
			if (r == IMAP_PARSE_ERROR) {
				sbuf_appendf(&out, "[REFUSED %s: %s]", imap_parser_tag(p),
					     imap_parser_error(p));
				imap_parser_reset(p);
			} else if (r == IMAP_PARSE_FATAL) {
				sbuf_appendf(&out, "[FATAL %s]", imap_parser_error(p));
				goto out;
			}
			break;
		}
		case IMAP_PARSE_DONE: {
			size_t count;
			const struct imap_arg *args = imap_parser_args(p, &count);
			sbuf_appendf(&out, "[%s %s", imap_parser_tag(p), imap_parser_command(p));
			if (count > 0)
				sbuf_append_str(&out, " ");
			dump_args(args, count, &out);
			sbuf_append_str(&out, "]");
			imap_parser_reset(p);
			break;
		}
		case IMAP_PARSE_ERROR:
			sbuf_appendf(&out, "[BAD %s: %s]",
				     imap_parser_tag(p) != NULL ? imap_parser_tag(p) : "*",
				     imap_parser_error(p));
			imap_parser_reset(p);
			break;
		case IMAP_PARSE_FATAL:
			sbuf_appendf(&out, "[FATAL %s]", imap_parser_error(p));
			goto out;
		}
	}
out:
	imap_parser_destroy(&p);
	return out.data != NULL ? out.data : xstrdup("");
}

struct parse_case {
	const char *input;
	size_t len; /* 0: strlen(input) */
	const char *want;
};

/* A string literal with NULs inside, and its length. */
#define BIN(s) s, sizeof(s) - 1

static const struct parse_case cases[] = {
    {"a1 NOOP\r\n", 0, "[a1 NOOP]"},
    {"a1 noop\n", 0, "[a1 NOOP]"},
    {"a2 LOGIN joe \"se\\\"cr\\\\et\"\r\n", 0, "[a2 LOGIN joe \"se\"cr\\et\"]"},
    {"a3 LOGIN {3}\r\njoe {6+}\r\nsecret\r\n", 0, "[LIT 3 d0 i0][LIT 6+ d0 i1][a3 LOGIN {3}joe {6}secret]"},
    {"a4 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.100>)\r\n", 0,
     "[a4 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.100>)]"},
    {"a5 SEARCH (OR (SEEN) (FLAGGED)) NOT DELETED\r\n", 0,
     "[a5 SEARCH (OR (SEEN) (FLAGGED)) NOT DELETED]"},
    {"a6 LIST \"\" %\r\n", 0, "[a6 LIST \"\" %]"},
    {"a7 SELECT [Gmail]/Sent\r\n", 0, "[a7 SELECT [Gmail]/Sent]"},
    {"a8 STORE 1 +FLAGS (\\Seen $Junk)\r\n", 0, "[a8 STORE 1 +FLAGS (\\Seen $Junk)]"},
    {"a9 X ()\r\n", 0, "[a9 X ()]"},
    {"b1 APPEND box (\\Seen) {0}\r\n\r\n", 0, "[LIT 0 d0 i2][b1 APPEND box (\\Seen) {0}]"},
    {BIN("b2 APPEND box ~{3+}\r\na\0b\r\n"), "[LIT 3+ 8 d0 i1][b2 APPEND box ~{3}a\\0b]"},
    {"b3 X ({2}\r\nab)\r\n", 0, "[LIT 2 d1 i0][b3 X ({2}ab)]"},
    {"b4 X  a   b\r\n", 0, "[b4 X a b]"},
    /* errors, each followed by a good command to show the resynchronization */
    {"\r\nc1 NOOP\r\n", 0, "[BAD *: Empty command line][c1 NOOP]"},
    {"c2\r\nc3 NOOP\r\n", 0, "[BAD c2: Missing command][c3 NOOP]"},
    {"c4 NOOP (\r\nc5 NOOP\r\n", 0, "[BAD c4: Missing ')'][c5 NOOP]"},
    {"c6 NOOP )\r\nc7 NOOP\r\n", 0, "[BAD c6: Unexpected ')'][c7 NOOP]"},
    {"c8 LOGIN \"abc\r\nc9 NOOP\r\n", 0, "[BAD c8: Unterminated quoted string][c9 NOOP]"},
    {"d1 LOGIN \"a\\b\"\r\nd2 NOOP\r\n", 0, "[BAD d1: Invalid escape in a quoted string][d2 NOOP]"},
    {"d3+ NOOP\r\nd4 NOOP\r\n", 0, "[BAD *: Invalid tag][d4 NOOP]"},
    {"d5 NO{OP\r\nd6 NOOP\r\n", 0, "[BAD d5: Invalid command name][d6 NOOP]"},
    {"d7 X a{3}\r\nd8 NOOP\r\n", 0, "[BAD d7: Missing space between arguments][d8 NOOP]"},
    {"d9 X {}\r\ne1 NOOP\r\n", 0, "[BAD d9: Invalid literal][e1 NOOP]"},
    {"e2 X {3} a\r\ne3 NOOP\r\n", 0, "[BAD e2: A literal must end its line][e3 NOOP]"},
    {"e4 X (a\"b\")\r\ne5 NOOP\r\n", 0, "[BAD e4: Missing space between arguments][e5 NOOP]"},
    {"e6 X \"a\rb\"\r\ne7 NOOP\r\n", 0, "[BAD e6: Unterminated quoted string][e7 NOOP]"},
    {BIN("e8 X {3}\r\na\0b\r\ne9 NOOP\r\n"), "[LIT 3 d0 i0][BAD e8: NUL in a literal][e9 NOOP]"},
    {"f1 FETCH 1 BODY[HEADER\r\nf2 NOOP\r\n", 0, "[BAD f1: Missing ']'][f2 NOOP]"},
    {"f3 X a\rb\r\nf4 NOOP\r\n", 0, "[BAD f3: CR without LF][f4 NOOP]"},
    /* a bad line announcing a non-synchronizing literal: its bytes are skipped too */
    {"g1 X ) {5+}\r\nab\r\nc trailing\r\ng2 NOOP\r\n", 0,
     "[LIT 5+ skip d0 i0][BAD g1: Unexpected ')'][g2 NOOP]"},
    {"g3 X ) {5}\r\ng4 NOOP\r\n", 0, "[BAD g3: Unexpected ')'][g4 NOOP]"},
    {"g5 X ) {500+}\r\n", 0, "[FATAL Literal too large to skip]"},
    /* a size with more digits than the skipped line's tail keeps: not skippable either */
    {"g6 X ) {0000000000000000000000000000000000000003+}\r\nabc\r\n", 0,
     "[FATAL Literal too large to skip]"},
    {"g7 X ) {99999999999999999999999999999999999999+}\r\n", 0, "[FATAL Literal too large to skip]"},
    /* limits */
    {"h1 X (((((a)))))\r\nh2 NOOP\r\n", 0, "[BAD h1: Lists nested too deep][h2 NOOP]"},
    {"h3 X 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31\r\n"
     "h4 NOOP\r\n",
     0, "[BAD h3: Too many arguments][h4 NOOP]"},
    {"h5 X {2000}\r\nh6 NOOP\r\n", 0, "[LIT 2000 d0 i0][REFUSED h5: Literal too large][h6 NOOP]"},
    {"h7 X {60+}\r\n0123456789012345678901234567890123456789012345678901234567890123456789\r\n"
     "h8 NOOP\r\n",
     0, "[LIT 60+ d0 i0][BAD h7: Missing space between arguments][h8 NOOP]"},
};

START_TEST(test_cases)
{
	static const size_t chunks[] = {0, 7, 1};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = cases[i].len != 0 ? cases[i].len : strlen(cases[i].input);

		for (size_t c = 0; c < ARRAY_SIZE(chunks); c++) {
			char *got = run(&default_limits, cases[i].input, len, chunks[c]);

			ck_assert_msg(strcmp(got, cases[i].want) == 0,
				      "case %zu (chunk %zu):\n got  %s\n want %s", i, chunks[c], got,
				      cases[i].want);
			free(got);
		}
	}
}
END_TEST

START_TEST(test_line_too_long)
{
	struct sbuf in = {0};
	char *got;

	sbuf_append_str(&in, "t1 X ");
	for (int i = 0; i < 300; i++)
		sbuf_append_str(&in, "a");
	sbuf_append_str(&in, "\r\nt2 NOOP\r\n");
	got = run(&default_limits, in.data, in.len, 0);
	ck_assert_str_eq(got, "[BAD t1: Line too long][t2 NOOP]");
	free(got);
	sbuf_free(&in);
}
END_TEST

START_TEST(test_command_too_long)
{
	struct imap_parser_limits lim = default_limits;
	struct sbuf in = {0};
	char *got;

	lim.max_command = 50;
	sbuf_append_str(&in, "t1 X {10+}\r\n0123456789 {10+}\r\n0123456789 {10+}\r\n0123456789 x y z w\r\n"
			     "t2 NOOP\r\n");
	got = run(&lim, in.data, in.len, 0);
	ck_assert_str_eq(got, "[LIT 10+ d0 i0][LIT 10+ d0 i1][LIT 10+ d0 i2]"
			      "[BAD t1: Literal too large][t2 NOOP]");
	free(got);
	sbuf_free(&in);
}
END_TEST

START_TEST(test_streamed)
{
	struct imap_parser *p = imap_parser_create(&default_limits);
	const char *in1 = "s1 APPEND INBOX (\\Seen) {5}\r\n", *in2 = " {3+}\r\n", *in3 = "\r\n";
	const struct imap_arg *args;
	size_t used, n;

	ck_assert_int_eq(imap_parser_feed(p, in1, strlen(in1), &used), IMAP_PARSE_LITERAL);
	ck_assert_uint_eq(used, strlen(in1));
	ck_assert_str_eq(imap_parser_command(p), "APPEND");
	ck_assert_uint_eq(imap_parser_literal(p)->top_index, 2);
	imap_parser_literal_streamed(p, 0);
	ck_assert_int_eq(imap_parser_feed(p, in2, strlen(in2), &used), IMAP_PARSE_LITERAL);
	/* refused: a non-synchronizing literal is skipped, then the command is an error */
	ck_assert_int_eq(imap_parser_literal_skip(p, "Message too large"), IMAP_PARSE_MORE);
	ck_assert_int_eq(imap_parser_feed(p, "abc", 3, &used), IMAP_PARSE_MORE);
	ck_assert_int_eq(imap_parser_feed(p, in3, strlen(in3), &used), IMAP_PARSE_ERROR);
	ck_assert_str_eq(imap_parser_error(p), "Message too large");
	imap_parser_reset(p);

	ck_assert_int_eq(imap_parser_feed(p, in1, strlen(in1), &used), IMAP_PARSE_LITERAL);
	imap_parser_literal_streamed(p, 7);
	ck_assert_int_eq(imap_parser_feed(p, in3, strlen(in3), &used), IMAP_PARSE_DONE);
	args = imap_parser_args(p, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(args[2].type, IMAP_ARG_STREAMED);
	ck_assert_uint_eq(args[2].stream_index, 7);
	ck_assert_uint_eq(args[2].len, 5);
	imap_parser_destroy(&p);
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(test_values)
{
	struct imap_parser_limits lim = default_limits;
	struct imap_parser *p;
	const struct imap_arg *v;
	const char *error = NULL;
	const char *env = "(\"Mon, 7 Feb 1994 21:52:25 -0800\" {7}\r\nH\xc3\xa9llo! "
			  "((\"Fred\" NIL \"fred\" \"example.com\")) NIL)";
	size_t n;

	lim.max_line = 1000;
	p = imap_parser_create(&lim);
	v = imap_parser_parse_values(p, env, strlen(env), &n, &error);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(v[0].type, IMAP_ARG_LIST);
	ck_assert_uint_eq(v[0].count, 4);
	ck_assert_int_eq(v[0].list[1].type, IMAP_ARG_LITERAL);
	ck_assert_str_eq(v[0].list[1].str, "H\xc3\xa9llo!");
	ck_assert_str_eq(imap_arg_astring(&v[0].list[2].list[0].list[2]), "fred");
	ck_assert(imap_arg_is_atom(&v[0].list[3], "nil"));
	ck_assert_ptr_null(imap_parser_parse_values(p, "(a", 2, &n, &error));
	ck_assert_ptr_null(imap_parser_parse_values(p, "a\nb", 3, &n, &error));
	imap_parser_destroy(&p);
}
END_TEST

START_TEST(test_numbers)
{
	struct imap_arg a = {.type = IMAP_ARG_ATOM, .str = (char[]){"4294967295"}, .len = 10};

	ck_assert_int_eq(imap_arg_number(&a, UINT32_MAX), 4294967295LL);
	ck_assert_int_eq(imap_arg_number(&a, 100), -1);
	ck_assert_int_eq(imap_parse_number("12a", 3, 1000), -1);
	ck_assert_int_eq(imap_parse_number("", 0, 1000), -1);
	ck_assert_int_eq(imap_parse_number("99999999999999999999", 20, INT64_MAX), -1);
	ck_assert_int_eq(imap_parse_number("007", 3, 1000), 7);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("imap_parser");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_cases);
	tcase_add_test(tc, test_line_too_long);
	tcase_add_test(tc, test_command_too_long);
	tcase_add_test(tc, test_streamed);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_numbers);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
