/*
 * test_message.c: lib/message.c: header fields parsed whole and fed one
 * byte at a time (the same fields must come out), unfolding, CRLF and LF,
 * lines that are not fields, the header size and field count limits, the
 * bytes after the header, and editing a header list.
 */
#include "message.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

struct want {
	const char *name, *value;
};

/* Parse text in pieces of `step` bytes; compare fields and the body offset. */
static void check_fields(const char *text, size_t step, const struct want *want, size_t nwant,
                         size_t want_header_size)
{
	struct header_parser *p = header_parser_create(NULL);
	struct message_field f;
	const char *error = NULL;
	size_t fed = 0, got = 0, len = strlen(text);
	int r;

	for (;;) {
		r = header_parser_next(p, &f, &error);
		if (r == HEADER_PARSE_FIELD) {
			ck_assert_msg(got < nwant, "step %zu: extra field '%s'", step, f.name);
			ck_assert_str_eq(f.name, want[got].name);
			ck_assert_msg(strcmp(f.value, want[got].value) == 0,
			              "step %zu field %s: got '%s' want '%s'", step, f.name,
			              f.value, want[got].value);
			ck_assert_uint_eq(f.value_len, strlen(want[got].value));
			got++;
			message_field_clear(&f);
			continue;
		}
		ck_assert_int_ne(r, HEADER_PARSE_ERROR);
		if (r == HEADER_PARSE_END)
			break;
		if (fed == len) {
			header_parser_finish(p);
			continue;
		}
		header_parser_feed(p, text + fed, fed + step > len ? len - fed : step);
		fed = fed + step > len ? len : fed + step;
	}
	ck_assert_uint_eq(got, nwant);
	ck_assert_uint_eq(header_parser_header_size(p), want_header_size);
	header_parser_free(&p);
	ck_assert_ptr_null(p);
}

START_TEST(test_fields_whole_and_bytewise)
{
	static const char text[] = "From: Alice <a@example.org>\r\n"
	                           "Subject: folded\r\n  over\r\n\ttwo lines  \r\n"
	                           "X-Empty:\r\n"
	                           "X-Spaced :  value\r\n"
	                           "\r\n"
	                           "body line\r\n";
	static const struct want want[] = {
	    {"From", "Alice <a@example.org>"},
	    {"Subject", "folded  over\ttwo lines"},
	    {"X-Empty", ""},
	    {"X-Spaced", "value"},
	};
	size_t step;

	for (step = 1; step <= sizeof(text); step++)
		check_fields(text, step, want, 4, strlen(text) - strlen("body line\r\n"));
}
END_TEST

START_TEST(test_bad_lines_skipped)
{
	static const char text[] = " orphan continuation\n"
	                           "no colon here\n"
	                           "bad name: x\n"
	                           ": empty name\n"
	                           "Good: yes\n"
	                           "\n";
	static const struct want want[] = {{"Good", "yes"}};
	size_t step;

	for (step = 1; step <= 7; step++)
		check_fields(text, step, want, 1, strlen(text));
}
END_TEST

START_TEST(test_no_blank_line)
{
	static const struct want want[] = {{"A", "1"}, {"B", "2"}};

	check_fields("A: 1\nB: 2", 1, want, 2, strlen("A: 1\nB: 2"));
	check_fields("A: 1\nB: 2\n", 3, want, 2, strlen("A: 1\nB: 2\n"));
	check_fields("", 1, want, 0, 0);
	check_fields("\n\nbody", 1, want, 0, 1);
}
END_TEST

START_TEST(test_rest_after_header)
{
	struct header_parser *p = header_parser_create(NULL);
	struct message_field f;
	const char *error, *rest;
	size_t len;

	header_parser_feed(p, "A: 1\n\nbody", 10);
	ck_assert_int_eq(header_parser_next(p, &f, &error), HEADER_PARSE_FIELD);
	message_field_clear(&f);
	ck_assert_int_eq(header_parser_next(p, &f, &error), HEADER_PARSE_END);
	header_parser_feed(p, " more", 5);
	rest = header_parser_rest(p, &len);
	ck_assert_uint_eq(len, 9);
	ck_assert(memcmp(rest, "body more", 9) == 0);
	ck_assert_uint_eq(header_parser_header_size(p), 6);
	header_parser_free(&p);
}
END_TEST

START_TEST(test_limits)
{
	struct message_limits limits;
	struct message_header hdr;
	struct sbuf big = {0};
	const char *error = NULL;
	size_t size, i;

	message_limits_default(&limits);
	limits.max_header_size = 100;
	sbuf_append_str(&big, "Subject: ");
	for (i = 0; i < 200; i++)
		sbuf_append_str(&big, "x");
	sbuf_append_str(&big, "\n\nbody\n");
	ck_assert_int_eq(message_header_parse(big.data, big.len, &limits, &hdr, &size, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "too large"));
	ck_assert_uint_eq(hdr.count, 0);

	/* Fields past max_fields are dropped, not an error. */
	message_limits_default(&limits);
	limits.max_fields = 3;
	sbuf_reset(&big);
	for (i = 0; i < 10; i++)
		sbuf_appendf(&big, "X-N: %zu\n", i);
	sbuf_append_str(&big, "\nbody\n");
	ck_assert_int_eq(message_header_parse(big.data, big.len, &limits, &hdr, &size, &error), 0);
	ck_assert_uint_eq(hdr.count, 3);
	ck_assert_str_eq(hdr.fields[2].value, "2");
	ck_assert_uint_eq(size, big.len - strlen("body\n"));
	message_header_clear(&hdr);
	sbuf_free(&big);
}
END_TEST

START_TEST(test_lookup_and_edit)
{
	static const char text[] = "To: a@example.org\nSubject: one\nsubject: two\n\nbody\n";
	struct message *msg;
	struct message_header copy;
	struct sbuf out = {0};
	const char *error, *body;
	size_t len;

	ck_assert_int_eq(message_parse(text, strlen(text), NULL, &msg, &error), 0);
	ck_assert_uint_eq(message_header_count(&msg->header, "SUBJECT"), 2);
	ck_assert_str_eq(message_header_get(&msg->header, "subject", 1)->value, "two");
	ck_assert_ptr_null(message_header_get(&msg->header, "subject", 2));
	body = message_body(msg, &len);
	ck_assert_uint_eq(len, 5);
	ck_assert(memcmp(body, "body\n", 5) == 0);

	message_header_copy(&copy, &msg->header);
	message_header_insert(&copy, 0, "X-First", "multi\nline", 10);
	message_header_insert(&copy, copy.count, "X-Last", "end", 3);
	message_header_remove(&copy, 2); /* "Subject: one" */
	ck_assert_str_eq(copy.fields[0].value, "multi line");
	ck_assert_str_eq(copy.fields[0].raw, " multi\r\n line");
	ck_assert_str_eq(copy.fields[2].value, "two");
	message_header_write(&copy, &out);
	ck_assert_str_eq(out.data,
	                 "X-First: multi\r\n line\r\nTo: a@example.org\r\nsubject: two\r\n"
	                 "X-Last: end\r\n\r\n");
	/* A long value is folded into short lines and unfolds back unchanged. */
	{
		struct sbuf longv = {0};
		const char *line, *nl;
		int k;

		for (k = 0; k < 60; k++)
			sbuf_append_str(&longv, k == 0 ? "word" : " word");
		message_header_insert(&copy, 0, "X-Long", longv.data, longv.len);
		ck_assert_str_eq(copy.fields[0].value, longv.data);
		for (line = copy.fields[0].raw; line != NULL; line = nl != NULL ? nl + 2 : NULL) {
			nl = strstr(line, "\r\n");
			ck_assert_uint_le(nl != NULL ? (size_t)(nl - line) : strlen(line), 78);
		}
		ck_assert_ptr_nonnull(strstr(copy.fields[0].raw, "\r\n word"));
		message_header_remove(&copy, 0);
		sbuf_free(&longv);
	}
	/* The original is untouched. */
	ck_assert_uint_eq(msg->header.count, 3);
	ck_assert(message_field_name_valid("X-Ok", 4));
	ck_assert(!message_field_name_valid("X Bad", 5));
	ck_assert(!message_field_name_valid("X:Bad", 5));
	ck_assert(!message_field_name_valid("", 0));
	message_header_clear(&copy);
	sbuf_free(&out);
	message_free(&msg);
	ck_assert_ptr_null(msg);
	message_free(&msg);
}
END_TEST

/*
 * Inserted values: line ends that would leave a blank line (which would end
 * the header block) are dropped; folds go before the word that would pass 76
 * characters, never right after the colon; a word that fits nowhere stays
 * whole.
 */
START_TEST(test_insert_folding)
{
	static const struct {
		const char *name, *value, *raw, *unfolded;
	} cases[] = {
	    {"X-A", "one\n", " one", "one"},
	    {"X-A", "one\r\n\r\n  \r\ntwo\n\n", " one\r\n two", "one two"},
	    {"X-A", "\n\none", " one", "one"},
	    {"X-A", "one\n\ttwo", " one\r\n\ttwo", "one\ttwo"},
	    {"X-A",
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
	     "bbbbbbbbbbbbbbbbbbbbbbbbb",
	     " aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
	     " bbbbbbbbbbbbbbbbbbbbbbbbb",
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
	     "bbbbbbbbbbbbbbbbbbbbbbbbb"},
	    {"X-Rather-Long-Field-Name",
	     "=?utf-8?Q?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?=",
	     " =?utf-8?Q?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?=",
	     "=?utf-8?Q?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?="},
	    {"X-A", "x", " x", "x"},
	};
	struct message_header hdr = {0};
	struct sbuf longword = {0}, out = {0};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		message_header_insert(&hdr, 0, cases[i].name, cases[i].value,
		                      strlen(cases[i].value));
		ck_assert_msg(strcmp(hdr.fields[0].raw, cases[i].raw) == 0, "case %zu: got \"%s\"",
		              i, hdr.fields[0].raw);
		ck_assert_str_eq(hdr.fields[0].value, cases[i].unfolded);
		message_header_remove(&hdr, 0);
	}
	/* the header block written has its one blank line at the end only */
	message_header_insert(&hdr, 0, "X-End", "trailing\r\n", 10);
	message_header_write(&hdr, &out);
	ck_assert_str_eq(out.data, "X-End: trailing\r\n\r\n");
	/* longer than any line: left whole */
	for (i = 0; i < 100; i++)
		sbuf_append_str(&longword, "w");
	message_header_insert(&hdr, 0, "X-Word", longword.data, longword.len);
	ck_assert_str_eq(hdr.fields[0].raw + 1, longword.data);
	message_header_clear(&hdr);
	sbuf_free(&out);
	sbuf_free(&longword);
}
END_TEST

START_TEST(test_binary_and_nul)
{
	static const char text[] = "X-Bin: a\0b\xff\n\nz";
	struct message *msg;
	const char *error;

	ck_assert_int_eq(message_parse(text, sizeof(text) - 1, NULL, &msg, &error), 0);
	ck_assert_uint_eq(msg->header.fields[0].value_len, 4);
	ck_assert(memcmp(msg->header.fields[0].value, "a\0b\xff", 4) == 0);
	ck_assert_uint_eq(msg->body_offset, sizeof(text) - 2);
	message_free(&msg);
}
END_TEST

static Suite *message_suite(void)
{
	Suite *s = suite_create("message");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_fields_whole_and_bytewise);
	tcase_add_test(tc, test_bad_lines_skipped);
	tcase_add_test(tc, test_no_blank_line);
	tcase_add_test(tc, test_rest_after_header);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_lookup_and_edit);
	tcase_add_test(tc, test_insert_folding);
	tcase_add_test(tc, test_binary_and_nul);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(message_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
