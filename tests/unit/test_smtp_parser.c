/*
 * test_smtp_parser.c: mta/smtp_parser.c, table-driven: command splitting,
 * MAIL and RCPT with every ESMTP parameter (SIZE, BODY, SMTPUTF8, AUTH, RET,
 * ENVID, NOTIFY, ORCPT) and their errors, xtext, BDAT and AUTH arguments,
 * and the line-end normalizer fed whole and one byte at a time. Every
 * argument is also parsed from a heap copy of exactly its length, and every
 * prefix of it, so AddressSanitizer catches a read past the end.
 */
#include "smtp_parser.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct smtp_parse_caps all_caps = {
    .dsn = true, .smtputf8 = true, .binarymime = true, .auth = true};

/* A heap copy of exactly len bytes (no NUL), for ASan. */
static char *exact(const char *s, size_t len)
{
	char *p = malloc(len > 0 ? len : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, s, len);
	return p;
}

START_TEST(test_command)
{
	static const struct {
		const char *line, *verb, *args;
	} cases[] = {
	    {"EHLO client.example", "EHLO", "client.example"},
	    {"ehlo  client.example  ", "EHLO", "client.example"},
	    {"QUIT", "QUIT", ""},
	    {"mail FROM:<a@b>", "MAIL", "FROM:<a@b>"},
	    {"STARTTLS", "STARTTLS", ""},
	    {"", "", ""},
	    {" EHLO x", "", ""},
	    {"EHLO:x", "", ""},
	    {"ABCDEFGHIJKLMNOPQ x", "", ""}, /* longer than SMTP_VERB_MAX */
	    {"DATA\x01", "", ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtp_command_line cl;
		size_t len = strlen(cases[i].line);
		char *line = exact(cases[i].line, len);

		smtp_parse_command(line, len, &cl);
		ck_assert_msg(strcmp(cl.verb, cases[i].verb) == 0, "'%s': verb '%s', want '%s'",
		              cases[i].line, cl.verb, cases[i].verb);
		ck_assert_msg(cl.args_len == strlen(cases[i].args) &&
		                  memcmp(cl.args, cases[i].args, cl.args_len) == 0,
		              "'%s': args '%.*s', want '%s'", cases[i].line, (int)cl.args_len,
		              cl.args, cases[i].args);
		free(line);
	}
}
END_TEST

START_TEST(test_xtext)
{
	static const struct {
		const char *in, *want; /* want NULL: error */
		size_t outsz;
	} cases[] = {
	    {"abc", "abc", 16},   {"a+2Bb", "a+b", 16}, {"a+3Db", "a=b", 16}, {"+20", " ", 16},
	    {"a+2bc", "a+c", 16}, /* lower case hex is accepted */
	    {"", "", 1},          {"a+2", NULL, 16},    {"a+", NULL, 16},     {"a+ZZ", NULL, 16},
	    {"a=b", NULL, 16},    {"a b", NULL, 16},    {"+00", NULL, 16}, /* NUL */
	    {"+0A", NULL, 16},                                             /* control */
	    {"+C3+A9", NULL, 16},                                          /* not US-ASCII */
	    {"abcd", NULL, 4}, /* does not fit with its NUL */
	    {"abc", "abc", 4},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[16];
		size_t len = strlen(cases[i].in);
		char *in = exact(cases[i].in, len);
		int rc = smtp_xtext_decode(in, len, out, cases[i].outsz);

		if (cases[i].want == NULL) {
			ck_assert_msg(rc == -1, "'%s': decoded, want an error", cases[i].in);
		} else {
			ck_assert_msg(rc == 0, "'%s': error", cases[i].in);
			ck_assert_str_eq(out, cases[i].want);
		}
		free(in);
	}
}
END_TEST

struct mail_case {
	const char *args;
	const char *addr;  /* NULL: want the reply */
	const char *reply; /* a prefix of the wanted error reply */
	uint64_t size;
	int body, smtputf8, ret;
	const char *envid;
};

static void check_mail(const struct mail_case *c, const struct smtp_parse_caps *caps)
{
	struct mail_address addr;
	struct smtp_mail_params p;
	const char *reply = NULL;
	size_t len = strlen(c->args);
	char *args = exact(c->args, len), buf[ADDR_BUFSZ];
	int rc = smtp_parse_mail(args, len, caps, &addr, &p, &reply);

	if (c->addr == NULL) {
		ck_assert_msg(rc == -1, "MAIL '%s': accepted, want '%s'", c->args, c->reply);
		ck_assert_msg(strncmp(reply, c->reply, strlen(c->reply)) == 0,
		              "MAIL '%s': reply '%s', want '%s'", c->args, reply, c->reply);
	} else {
		ck_assert_msg(rc == 0, "MAIL '%s': refused: %s", c->args, reply);
		addr_format(&addr, buf);
		ck_assert_str_eq(buf, c->addr);
		ck_assert_uint_eq(p.size_given ? p.size : 0, c->size);
		ck_assert_int_eq(p.body, c->body);
		ck_assert_int_eq(p.smtputf8, c->smtputf8);
		ck_assert_int_eq(p.ret, c->ret);
		if (c->envid != NULL)
			ck_assert_str_eq(p.envid, c->envid);
		else
			ck_assert(!p.envid_given);
	}
	free(args);
	/* every prefix parses or fails cleanly */
	for (size_t n = 0; n < len; n++) {
		char *pre = exact(c->args, n);
		(void)smtp_parse_mail(pre, n, caps, &addr, &p, &reply);
		free(pre);
	}
}

START_TEST(test_mail)
{
	static const struct mail_case cases[] = {
	    {"FROM:<bob@example.com>", "bob@example.com", NULL, 0, 0, 0, 0, NULL},
	    {"from:<Bob@EXAMPLE.com>", "Bob@example.com", NULL, 0, 0, 0, 0, NULL},
	    {"FROM: <bob@example.com>", "bob@example.com", NULL, 0, 0, 0, 0, NULL},
	    {"FROM:<>", "", NULL, 0, 0, 0, 0, NULL},
	    {"FROM:<> SIZE=1000 BODY=8BITMIME", "", NULL, 1000, QUEUE_BODY_8BITMIME, 0, 0, NULL},
	    {"FROM:<a@b.example> body=binarymime size=0", "a@b.example", NULL, 0,
	     QUEUE_BODY_BINARYMIME, 0, 0, NULL},
	    {"FROM:<a@b.example> BODY=7BIT", "a@b.example", NULL, 0, QUEUE_BODY_7BIT, 0, 0, NULL},
	    {"FROM:<a@b.example> RET=HDRS ENVID=QQ+2B1", "a@b.example", NULL, 0, 0, 0,
	     QUEUE_RET_HDRS, "QQ+1"},
	    {"FROM:<a@b.example> RET=full", "a@b.example", NULL, 0, 0, 0, QUEUE_RET_FULL, NULL},
	    {"FROM:<a@b.example> AUTH=<>", "a@b.example", NULL, 0, 0, 0, 0, NULL},
	    {"FROM:<a@b.example> AUTH=bob+40example.com", "a@b.example", NULL, 0, 0, 0, 0, NULL},
	    {"FROM:<j\xc3\xb6rg@b\xc3\xbc"
	     "cher.example> SMTPUTF8",
	     "j\xc3\xb6rg@xn--bcher-kva.example", NULL, 0, 0, 1, 0, NULL},
	    {"FROM:<a@[192.0.2.1]>", "a@[192.0.2.1]", NULL, 0, 0, 0, 0, NULL},
	    {"FROM:<@relay.example:a@b.example>", "a@b.example", NULL, 0, 0, 0, 0, NULL},
	    {"FROM:<a@b.example> SIZE=18446744073709551615", "a@b.example", NULL,
	     18446744073709551615ULL, 0, 0, 0, NULL},
	    /* errors */
	    {"<a@b.example>", NULL, "501 5.5.4 Syntax: MAIL FROM", 0, 0, 0, 0, NULL},
	    {"FROM:a@b.example", NULL, "501 5.1.7", 0, 0, 0, 0, NULL},
	    {"FROM:<a@b.example", NULL, "501 5.1.7", 0, 0, 0, 0, NULL},
	    {"FROM:<a@@b.example>", NULL, "501 5.1.7", 0, 0, 0, 0, NULL},
	    {"FROM:<j\xc3\xb6rg@example.com>", NULL, "553 5.6.7", 0, 0, 0, 0, NULL},
	    {"FROM:<a@b.example> SIZE=18446744073709551616", NULL, "501 5.5.4 Bad SIZE", 0, 0, 0, 0,
	     NULL},
	    {"FROM:<a@b.example> SIZE=", NULL, "501 5.5.4", 0, 0, 0, 0, NULL},
	    {"FROM:<a@b.example> SIZE=12x", NULL, "501 5.5.4 Bad SIZE", 0, 0, 0, 0, NULL},
	    {"FROM:<a@b.example> SIZE=1 SIZE=2", NULL, "501 5.5.4 Bad SIZE", 0, 0, 0, 0, NULL},
	    {"FROM:<a@b.example> BODY=9BIT", NULL, "501 5.5.4 Unsupported BODY", 0, 0, 0, 0, NULL},
	    {"FROM:<a@b.example> BODY=7BIT BODY=7BIT", NULL, "501 5.5.4 Duplicate", 0, 0, 0, 0,
	     NULL},
	    {"FROM:<a@b.example> SMTPUTF8=yes", NULL, "501 5.5.4 SMTPUTF8", 0, 0, 0, 0, NULL},
	    {"FROM:<a@b.example> RET=ALL", NULL, "501 5.5.4 Bad RET", 0, 0, 0, 0, NULL},
	    {"FROM:<a@b.example> ENVID=a+zz", NULL, "501 5.5.4 Bad ENVID", 0, 0, 0, 0, NULL},
	    {"FROM:<a@b.example> XFOO=1", NULL, "555 5.5.4", 0, 0, 0, 0, NULL},
	    {"FROM:<a@b.example> =1", NULL, "501 5.5.4 Syntax error", 0, 0, 0, 0, NULL},
	    {"FROM:<a@b.example>SIZE=1", NULL, "501 5.1.7", 0, 0, 0, 0, NULL},
	    {"FROM:<a@b.example> SIZE=1=2", NULL, "501 5.5.4 Syntax error", 0, 0, 0, 0, NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_mail(&cases[i], &all_caps);
}
END_TEST

START_TEST(test_mail_without_caps)
{
	/* after HELO (no ESMTP) no parameter is known */
	static const struct smtp_parse_caps none = {0};
	static const struct mail_case cases[] = {
	    {"FROM:<a@b.example> SIZE=10", "a@b.example", NULL, 10, 0, 0, 0, NULL},
	    {"FROM:<a@b.example> RET=HDRS", NULL, "555 5.5.4", 0, 0, 0, 0, NULL},
	    {"FROM:<a@b.example> SMTPUTF8", NULL, "555 5.5.4", 0, 0, 0, 0, NULL},
	    {"FROM:<a@b.example> BODY=BINARYMIME", NULL, "501 5.5.4 Unsupported BODY", 0, 0, 0, 0,
	     NULL},
	    {"FROM:<a@b.example> AUTH=<>", NULL, "555 5.5.4", 0, 0, 0, 0, NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_mail(&cases[i], &none);
}
END_TEST

START_TEST(test_rcpt)
{
	static const struct {
		const char *args;
		bool smtputf8;
		const char *addr, *reply;
		unsigned int notify;
		const char *orcpt;
	} cases[] = {
	    {"TO:<bob@example.com>", false, "bob@example.com", NULL, 0, NULL},
	    {"to: <bob@example.com>", false, "bob@example.com", NULL, 0, NULL},
	    {"TO:<Postmaster>", false, "postmaster", NULL, 0, NULL},
	    {"TO:<bob@example.com> NOTIFY=NEVER", false, "bob@example.com", NULL,
	     QUEUE_NOTIFY_NEVER, NULL},
	    {"TO:<bob@example.com> NOTIFY=SUCCESS,FAILURE,DELAY", false, "bob@example.com", NULL,
	     QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_DELAY, NULL},
	    {"TO:<bob@example.com> ORCPT=rfc822;bob+2Btag@example.com NOTIFY=failure", false,
	     "bob@example.com", NULL, QUEUE_NOTIFY_FAILURE, "rfc822;bob+tag@example.com"},
	    {"TO:<j\xc3\xb6rg@example.com>", true, "j\xc3\xb6rg@example.com", NULL, 0, NULL},
	    {"TO:<j\xc3\xb6rg@example.com>", false, NULL, "553 5.6.7", 0, NULL},
	    {"TO:<>", false, NULL, "501 5.1.3", 0, NULL},
	    {"TO:bob@example.com", false, NULL, "501 5.1.3", 0, NULL},
	    {"<bob@example.com>", false, NULL, "501 5.5.4 Syntax: RCPT TO", 0, NULL},
	    {"TO:<bob@example.com> NOTIFY=NEVER,SUCCESS", false, NULL, "501 5.5.4 Bad NOTIFY", 0,
	     NULL},
	    {"TO:<bob@example.com> NOTIFY=SUCCESS,SUCCESS", false, NULL, "501 5.5.4 Bad NOTIFY", 0,
	     NULL},
	    {"TO:<bob@example.com> NOTIFY=SUCCESS,", false, NULL, "501 5.5.4 Bad NOTIFY", 0, NULL},
	    {"TO:<bob@example.com> NOTIFY=SOMETIMES", false, NULL, "501 5.5.4 Bad NOTIFY", 0, NULL},
	    {"TO:<bob@example.com> NOTIFY=NEVER NOTIFY=NEVER", false, NULL, "501 5.5.4 Bad NOTIFY",
	     0, NULL},
	    {"TO:<bob@example.com> ORCPT=bob@example.com", false, NULL, "501 5.5.4 Bad ORCPT", 0,
	     NULL},
	    {"TO:<bob@example.com> ORCPT=rfc822;", false, NULL, "501 5.5.4 Bad ORCPT", 0, NULL},
	    {"TO:<bob@example.com> ORCPT=rf(c;a@b", false, NULL, "501 5.5.4 Bad ORCPT", 0, NULL},
	    {"TO:<bob@example.com> SIZE=1", false, NULL, "555 5.5.4", 0, NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mail_address addr;
		struct smtp_rcpt_params p;
		const char *reply = NULL;
		size_t len = strlen(cases[i].args);
		char *args = exact(cases[i].args, len), buf[ADDR_BUFSZ];
		int rc =
		    smtp_parse_rcpt(args, len, &all_caps, cases[i].smtputf8, &addr, &p, &reply);

		if (cases[i].addr == NULL) {
			ck_assert_msg(rc == -1, "RCPT '%s': accepted", cases[i].args);
			ck_assert_msg(strncmp(reply, cases[i].reply, strlen(cases[i].reply)) == 0,
			              "RCPT '%s': reply '%s', want '%s'", cases[i].args, reply,
			              cases[i].reply);
		} else {
			ck_assert_msg(rc == 0, "RCPT '%s': refused: %s", cases[i].args, reply);
			addr_format(&addr, buf);
			ck_assert_str_eq(buf, cases[i].addr);
			ck_assert_uint_eq(p.notify, cases[i].notify);
			ck_assert_int_eq(p.orcpt_given, cases[i].orcpt != NULL);
			if (cases[i].orcpt != NULL)
				ck_assert_str_eq(p.orcpt, cases[i].orcpt);
		}
		free(args);
		for (size_t n = 0; n < len; n++) {
			char *pre = exact(cases[i].args, n);
			(void)smtp_parse_rcpt(pre, n, &all_caps, cases[i].smtputf8, &addr, &p,
			                      &reply);
			free(pre);
		}
	}
}
END_TEST

START_TEST(test_bdat_and_auth)
{
	static const struct {
		const char *args;
		int ok;
		uint64_t size;
		bool last;
	} bdat[] = {
	    {"100", 1, 100, false}, {"0 LAST", 1, 0, true}, {"42 last", 1, 42, true},
	    {"", 0, 0, false},      {"LAST", 0, 0, false},  {"12 FIRST", 0, 0, false},
	    {"-1", 0, 0, false},    {"1 2", 0, 0, false},   {"18446744073709551616", 0, 0, false},
	};
	static const struct {
		const char *args, *mech, *initial;
		int ok;
	} auth[] = {
	    {"PLAIN", "PLAIN", NULL, 1},
	    {"plain AGJvYgBzZWNyZXQ=", "PLAIN", "AGJvYgBzZWNyZXQ=", 1},
	    {"LOGIN =", "LOGIN", "=", 1},
	    {"SCRAM-SHA-256", "SCRAM-SHA-256", NULL, 1},
	    {"", NULL, NULL, 0},
	    {"PL@IN", NULL, NULL, 0},
	    {"ABCDEFGHIJKLMNOPQRSTU", NULL, NULL, 0}, /* 21 characters */
	};

	for (size_t i = 0; i < sizeof(bdat) / sizeof(bdat[0]); i++) {
		uint64_t size = 0;
		bool last = false;
		const char *reply = NULL;
		size_t len = strlen(bdat[i].args);
		char *args = exact(bdat[i].args, len);
		int rc = smtp_parse_bdat(args, len, &size, &last, &reply);

		ck_assert_msg((rc == 0) == bdat[i].ok, "BDAT '%s': rc %d", bdat[i].args, rc);
		if (rc == 0) {
			ck_assert_uint_eq(size, bdat[i].size);
			ck_assert_int_eq(last, bdat[i].last);
		} else {
			ck_assert_str_eq(reply, "501 5.5.4 Syntax: BDAT <size> [LAST]");
		}
		free(args);
	}
	for (size_t i = 0; i < sizeof(auth) / sizeof(auth[0]); i++) {
		struct smtp_auth_args a;
		const char *reply = NULL;
		size_t len = strlen(auth[i].args);
		char *args = exact(auth[i].args, len);
		int rc = smtp_parse_auth(args, len, &a, &reply);

		ck_assert_msg((rc == 0) == auth[i].ok, "AUTH '%s': rc %d", auth[i].args, rc);
		if (rc == 0) {
			ck_assert_str_eq(a.mech, auth[i].mech);
			if (auth[i].initial == NULL)
				ck_assert_ptr_null(a.initial);
			else
				ck_assert(a.initial_len == strlen(auth[i].initial) &&
				          memcmp(a.initial, auth[i].initial, a.initial_len) == 0);
		}
		free(args);
	}
}
END_TEST

START_TEST(test_normalize)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"a\r\nb\r\n", "a\r\nb\r\n"}, {"a\nb\n", "a\r\nb\r\n"},
	    {"a\rb\r", "a\r\nb\r\n"},     {"\r\r\n\n", "\r\n\r\n\r\n"},
	    {"x\r\n.\r\n", "x\r\n.\r\n"}, {"x\n.\n", "x\r\n.\r\n"},
	    {"x\r.\r", "x\r\n.\r\n"},     {"", ""},
	    {"no end", "no end"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in), o = 0;
		char *out = malloc(2 * len + 2 + 1), *one = malloc(2 * len + 2 + 1);
		bool cr = false;

		/* whole */
		o = smtp_normalize_line_ends(cases[i].in, len, &cr, out);
		o += smtp_normalize_line_ends(NULL, 0, &cr, out + o);
		out[o] = '\0';
		ck_assert_msg(strcmp(out, cases[i].want) == 0, "'%s' whole: got '%s'", cases[i].in,
		              out);
		/* one byte at a time: a CR at the end of a piece waits for the next */
		o = 0;
		cr = false;
		for (size_t j = 0; j < len; j++)
			o += smtp_normalize_line_ends(cases[i].in + j, 1, &cr, one + o);
		o += smtp_normalize_line_ends(NULL, 0, &cr, one + o);
		one[o] = '\0';
		ck_assert_msg(strcmp(one, cases[i].want) == 0, "'%s' bytewise: got '%s'",
		              cases[i].in, one);
		free(out);
		free(one);
	}
}
END_TEST

/* Random input, from an alphabet rich in the grammar's special characters: no crash, no overread.
 */
START_TEST(test_garbage)
{
	static const char alphabet[] = "<>@:;=+ ,.\"\\[]abcdefXYZ0123456789-_\t\x80\xc3\xa9\r\n";
	uint32_t seed = 12345;

	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(round % 200);
		char *buf = malloc(len > 0 ? len : 1), out[64], norm[2 * 200 + 2];
		struct mail_address addr;
		struct smtp_mail_params mp;
		struct smtp_rcpt_params rp;
		struct smtp_command_line cl;
		struct smtp_auth_args auth;
		const char *reply;
		uint64_t size;
		bool last, cr = false;

		ck_assert_ptr_nonnull(buf);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		if (len >= 5 && round % 2 == 0)
			memcpy(buf, round % 4 == 0 ? "FROM:" : "TO:<a", 5);
		smtp_parse_command(buf, len, &cl);
		(void)smtp_parse_mail(buf, len, &all_caps, &addr, &mp, &reply);
		(void)smtp_parse_rcpt(buf, len, &all_caps, round % 3 == 0, &addr, &rp, &reply);
		(void)smtp_parse_bdat(buf, len, &size, &last, &reply);
		(void)smtp_parse_auth(buf, len, &auth, &reply);
		(void)smtp_xtext_decode(buf, len, out, sizeof(out));
		ck_assert_uint_le(smtp_normalize_line_ends(buf, len, &cr, norm), 2 * len + 2);
		free(buf);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("smtp_parser");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_command);
	tcase_add_test(tc, test_xtext);
	tcase_add_test(tc, test_mail);
	tcase_add_test(tc, test_mail_without_caps);
	tcase_add_test(tc, test_rcpt);
	tcase_add_test(tc, test_bdat_and_auth);
	tcase_add_test(tc, test_normalize);
	tcase_add_test(tc, test_garbage);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
