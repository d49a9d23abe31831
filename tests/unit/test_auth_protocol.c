/*
 * test_auth_protocol.c: the sluice-authd wire format (docs/auth-protocol.md):
 * escaping round trips over every byte, request parsing (good lines, every
 * kind of bad line), client IP canonicalization, and the answer lines.
 */
#include "auth_client.h"
#include "auth_protocol.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_escape_roundtrip)
{
	char in[256], esc[512], out[513];
	const char *error = NULL;
	size_t n = 0, out_len;

	/* Every byte but NUL, in order. */
	for (int c = 1; c < 256; c++)
		in[n++] = (char)c;
	ck_assert_uint_eq(auth_wire_escaped_len(in, n), n + 4);
	char *end = auth_wire_escape(esc, in, n);
	ck_assert_uint_eq((size_t)(end - esc), n + 4);
	ck_assert_ptr_null(memchr(esc, '\t', (size_t)(end - esc)));
	ck_assert_ptr_null(memchr(esc, '\n', (size_t)(end - esc)));
	ck_assert_ptr_null(memchr(esc, '\r', (size_t)(end - esc)));
	ck_assert_int_eq(auth_wire_unescape(esc, (size_t)(end - esc), out, &out_len, &error), 0);
	ck_assert_uint_eq(out_len, n);
	ck_assert_mem_eq(out, in, n);
	ck_assert_int_eq(out[out_len], '\0');
}
END_TEST

static const struct {
	const char *escaped, *plain;
} escape_cases[] = {
    {"", ""},
    {"abc", "abc"},
    {"a\\tb", "a\tb"},
    {"\\\\", "\\"},
    {"\\n\\r", "\n\r"},
    {"p\\\\t", "p\\t"},
    {"\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9"},
};

START_TEST(test_escape_table)
{
	for (size_t i = 0; i < sizeof(escape_cases) / sizeof(escape_cases[0]); i++) {
		const char *plain = escape_cases[i].plain, *escaped = escape_cases[i].escaped;
		char buf[64], out[64];
		const char *error = NULL;
		size_t out_len;

		char *end = auth_wire_escape(buf, plain, strlen(plain));
		*end = '\0';
		ck_assert_msg(strcmp(buf, escaped) == 0, "case %zu: got '%s', want '%s'", i, buf,
		              escaped);
		ck_assert_int_eq(
		    auth_wire_unescape(escaped, strlen(escaped), out, &out_len, &error), 0);
		ck_assert_msg(strcmp(out, plain) == 0, "case %zu: unescape got '%s'", i, out);
	}
}
END_TEST

START_TEST(test_unescape_errors)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
	    {"abc\\", 4, "ends inside an escape"}, {"a\\x", 3, "unknown escape"},
	    {"a\\0", 3, "unknown escape"},         {"a\0b", 3, "NUL"},
	    {"a\rb", 3, "unescaped control"},      {"a\nb", 3, "unescaped control"},
	    {"a\tb", 3, "unescaped control"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[16];
		size_t out_len;
		const char *error = NULL;

		ck_assert_int_eq(
		    auth_wire_unescape(cases[i].in, cases[i].len, out, &out_len, &error), -1);
		ck_assert_msg(strstr(error, cases[i].want) != NULL, "case %zu: got '%s', want '%s'",
		              i, error, cases[i].want);
	}
}
END_TEST

START_TEST(test_split)
{
	struct auth_wire_field f[3];
	const char *line = "a\t\tbc";

	ck_assert_int_eq(auth_wire_split(line, strlen(line), f, 3), 3);
	ck_assert_uint_eq(f[0].len, 1);
	ck_assert_uint_eq(f[1].len, 0);
	ck_assert_uint_eq(f[2].len, 2);
	ck_assert_mem_eq(f[2].data, "bc", 2);
	ck_assert_int_eq(auth_wire_split(line, strlen(line), f, 2), -1);
	ck_assert_int_eq(auth_wire_split("", 0, f, 3), 1);
	ck_assert_uint_eq(f[0].len, 0);
	ck_assert_int_eq(auth_wire_split("\t", 1, f, 3), 2);
}
END_TEST

START_TEST(test_id)
{
	char long_id[34];

	ck_assert(auth_wire_id_valid("a", 1));
	ck_assert(auth_wire_id_valid("Az09_-", 6));
	ck_assert(!auth_wire_id_valid("", 0));
	ck_assert(!auth_wire_id_valid("a b", 3));
	ck_assert(!auth_wire_id_valid("a.b", 3));
	memset(long_id, 'x', sizeof(long_id));
	ck_assert(auth_wire_id_valid(long_id, 32));
	ck_assert(!auth_wire_id_valid(long_id, 33));
}
END_TEST

START_TEST(test_parse_ok)
{
	const char *line = "AUTH\t17\timap\tBob@Example.test\tp\\tw\\\\d\\n\t192.0.2.7";
	struct auth_request req;
	const char *error = NULL;

	ck_assert_int_eq(auth_request_parse(line, strlen(line), &req, &error), 0);
	ck_assert_str_eq(req.id, "17");
	ck_assert_str_eq(req.service, "imap");
	ck_assert_str_eq(req.user, "Bob@Example.test");
	ck_assert_uint_eq(req.user_len, 16);
	ck_assert_uint_eq(req.password_len, 6);
	ck_assert_mem_eq(req.password, "p\tw\\d\n", 6);
	ck_assert_str_eq(req.client_ip, "192.0.2.7");
	auth_request_clear(&req);
	ck_assert_ptr_null(req.fields);
	auth_request_clear(&req);

	line = "AUTH\tx\tsmtp\ta@b\t\t-";
	ck_assert_int_eq(auth_request_parse(line, strlen(line), &req, &error), 0);
	ck_assert_str_eq(req.client_ip, "");
	ck_assert_uint_eq(req.password_len, 0);
	auth_request_clear(&req);

	line = "AUTH\tx\tsieve\ta@b\tpw\t::FFFF:198.51.100.1";
	ck_assert_int_eq(auth_request_parse(line, strlen(line), &req, &error), 0);
	ck_assert_str_eq(req.client_ip, "198.51.100.1");
	auth_request_clear(&req);

	line = "AUTH\tx\tsieve\ta@b\tpw\t2001:DB8:0:0::1";
	ck_assert_int_eq(auth_request_parse(line, strlen(line), &req, &error), 0);
	ck_assert_str_eq(req.client_ip, "2001:db8::1");
	auth_request_clear(&req);
}
END_TEST

START_TEST(test_parse_errors)
{
	static const struct {
		const char *line;
		size_t len; /* 0: strlen */
		const char *want;
	} cases[] = {
	    {"", 0, "unknown command"},
	    {"HELLO", 0, "unknown command"},
	    {"auth\t1\timap\ta@b\tpw\t-", 0, "unknown command"},
	    {"AUTHX\t1\timap\ta@b\tpw\t-", 0, "unknown command"},
	    {"AUTH", 0, "wrong number of fields"},
	    {"AUTH\t1\timap\ta@b\tpw", 0, "wrong number of fields"},
	    {"AUTH\t1\timap\ta@b\tpw\t-\textra", 0, "wrong number of fields"},
	    {"AUTH\t1\timap\ta@b\tp\tw\t-", 0, "wrong number of fields"},
	    {"AUTH\t\timap\ta@b\tpw\t-", 0, "bad request id"},
	    {"AUTH\tid with space\timap\ta@b\tpw\t-", 0, "bad request id"},
	    {"AUTH\t1\t\ta@b\tpw\t-", 0, "empty service"},
	    {"AUTH\t1\timap\t\tpw\t-", 0, "empty user"},
	    {"AUTH\t1\timap\ta@b\tpw\\q\t-", 0, "unknown escape"},
	    {"AUTH\t1\timap\ta@b\tpw\\\t-", 0, "ends inside an escape"},
	    {"AUTH\t1\timap\ta@b\tp\rw\t-", 0, "unescaped control"},
	    {"AUTH\t1\timap\ta@b\tpw\t-\r", 0, "bad client ip"},
	    {"AUTH\t1\timap\ta@b\tpw\t", 0, "bad client ip"},
	    {"AUTH\t1\timap\ta@b\tpw\tlocalhost", 0, "bad client ip"},
	    {"AUTH\t1\timap\ta@b\tpw\t192.0.2.300", 0, "bad client ip"},
	    {"AUTH\t1\timap\ta@b\tpw\t1111:2222:3333:4444:5555:6666:7777:8888:9999", 0,
	     "bad client ip"},
	    {"AUTH\t1\timap\ta@b\tp\0w\t-", 20, "NUL byte"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct auth_request req;
		const char *error = NULL;
		size_t len = cases[i].len != 0 ? cases[i].len : strlen(cases[i].line);

		ck_assert_msg(auth_request_parse(cases[i].line, len, &req, &error) == -1,
		              "case %zu parsed", i);
		ck_assert_msg(error != NULL && strstr(error, cases[i].want) != NULL,
		              "case %zu: got '%s', want '%s'", i, error, cases[i].want);
		ck_assert_ptr_null(req.fields);
	}
}
END_TEST

/* Byte at a time: every prefix of a good line either fails or parses to a prefix. */
START_TEST(test_parse_prefixes)
{
	const char *line = "AUTH\tab\timap\tu@d\tp\\\\w\t10.0.0.1";
	size_t len = strlen(line);

	for (size_t i = 0; i < len; i++) {
		struct auth_request req;
		const char *error = NULL;
		int r = auth_request_parse(line, i, &req, &error);

		if (r == 0) {
			/* Only IP prefixes that are themselves addresses can parse. */
			ck_assert_uint_gt(i, 24);
			auth_request_clear(&req);
		} else {
			ck_assert_ptr_nonnull(error);
		}
	}
}
END_TEST

START_TEST(test_client_ip)
{
	char out[INET6_ADDRSTRLEN];

	ck_assert_int_eq(auth_client_ip_parse("-", out), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(auth_client_ip_parse("::1", out), 0);
	ck_assert_str_eq(out, "::1");
	ck_assert_int_eq(auth_client_ip_parse("::ffff:10.1.2.3", out), 0);
	ck_assert_str_eq(out, "10.1.2.3");
	ck_assert_int_eq(auth_client_ip_parse("2001:0db8::0001", out), 0);
	ck_assert_str_eq(out, "2001:db8::1");
	ck_assert_int_eq(auth_client_ip_parse("", out), -1);
	ck_assert_int_eq(auth_client_ip_parse("--", out), -1);
	ck_assert_int_eq(auth_client_ip_parse("[::1]", out), -1);
	ck_assert_int_eq(auth_client_ip_parse("010.1.2.3", out), -1);
}
END_TEST

START_TEST(test_answers)
{
	struct sbuf b = {0};

	auth_answer_ok(&b, "7", "bob@example.test");
	ck_assert_str_eq(sbuf_str(&b), "OK\t7\tbob@example.test\n");
	sbuf_reset(&b);
	auth_answer_ok(&b, "7", "we\tird\\@x");
	ck_assert_str_eq(sbuf_str(&b), "OK\t7\twe\\tird\\\\@x\n");
	sbuf_reset(&b);
	auth_answer_fail(&b, "a-b");
	ck_assert_str_eq(sbuf_str(&b), "FAIL\ta-b\n");
	sbuf_reset(&b);
	auth_answer_tempfail(&b, "9", "database unavailable");
	ck_assert_str_eq(sbuf_str(&b), "TEMPFAIL\t9\tdatabase unavailable\n");
	sbuf_reset(&b);
	auth_answer_error(&b, "bad\nreason");
	ck_assert_str_eq(sbuf_str(&b), "ERROR\tbad\\nreason\n");
	ck_assert_str_eq(AUTH_VERSION_LINE, "VERSION\t1\n");
	sbuf_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth_protocol");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_escape_roundtrip);
	tcase_add_test(tc, test_escape_table);
	tcase_add_test(tc, test_unescape_errors);
	tcase_add_test(tc, test_split);
	tcase_add_test(tc, test_id);
	tcase_add_test(tc, test_parse_ok);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_parse_prefixes);
	tcase_add_test(tc, test_client_ip);
	tcase_add_test(tc, test_answers);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
