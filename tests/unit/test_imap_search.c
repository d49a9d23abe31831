/*
 * test_imap_search.c: the pure parts of sluice-imapd's SEARCH, SORT and
 * THREAD: case folding of UTF-8 (imapd/imap_search_eval.c), RFC 5322
 * dates as days and instants, and RFC 5256 base subjects
 * (imapd/imap_sort.c), table-driven with got/want on failure.
 */
#include "imap_search.h"
#include "imap_sort.h"

#include <check.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_casefold)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"Hello WORLD", "hello world"},
	    {"GR\xc3\x9c\xc3\x9f" "E", "gr\xc3\xbc\xc3\x9f" "e"},      /* GRÜßE */
	    {"\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2", /* ПРИВЕТ */
	     "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"},
	    {"\xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91", "\xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1"},
	    {"bad \xff byte", "bad \xff byte"},
	    {"", ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sbuf out = {0};

		imap_casefold(cases[i].in, strlen(cases[i].in), &out);
		ck_assert_msg(strcmp(sbuf_str(&out), cases[i].want) == 0, "case %zu: got '%s'", i,
			      sbuf_str(&out));
		sbuf_free(&out);
	}
}
END_TEST

START_TEST(test_dates)
{
	/* 2023-01-01 is day 19358 since 1970-01-01 */
	ck_assert_int_eq(imap_rfc5322_day("Sun, 1 Jan 2023 09:00:00 +0000"), 19358);
	ck_assert_int_eq(imap_rfc5322_day("1 Jan 2023 23:30 -0500"), 19358); /* its own date */
	ck_assert_int_eq(imap_rfc5322_day("Sun, 01 jan 23 10:00 +0100"), 19358);
	ck_assert_int_eq(imap_rfc5322_day("  Mon,  2 Jan 2023"), 19359);
	ck_assert_int_eq(imap_rfc5322_day("1 Jan 99 00:00 +0000"), 10592);
	ck_assert_int_eq(imap_rfc5322_day("not a date"), -1);
	ck_assert_int_eq(imap_rfc5322_day("32 Jan 2023"), -1);
	ck_assert_int_eq(imap_rfc5322_day("1 Foo 2023"), -1);
	ck_assert_int_eq(imap_rfc5322_day(NULL), -1);
	ck_assert_int_eq(imap_rfc5322_time("Sun, 1 Jan 2023 09:00:00 +0000"), 19358LL * 86400 + 32400);
	ck_assert_int_eq(imap_rfc5322_time("Sun, 1 Jan 2023 10:30:00 +0130"), 19358LL * 86400 + 32400);
	ck_assert_int_eq(imap_rfc5322_time("Sun, 1 Jan 2023 04:00:00 -0500"), 19358LL * 86400 + 32400);
}
END_TEST

START_TEST(test_base_subject)
{
	static const struct {
		const char *in, *want;
		bool reply;
	} cases[] = {
	    {"hello", "hello", false},
	    {"Re: hello", "hello", true},
	    {"RE: Re: re:hello", "hello", true},
	    {"Fwd: hello", "hello", true},
	    {"FW: hello", "hello", true},
	    {"Re[2]: hello", "hello", true},
	    {"[list] Re: hello", "hello", true},
	    {"[list] hello", "hello", false},
	    {"[only a blob]", "[only a blob]", false},
	    {"hello (fwd)", "hello", true},
	    {"hello (fwd) (FWD)  ", "hello", true},
	    {"[fwd: hello]", "hello", true},
	    {"[Fwd: Re: [list] hello (fwd)]", "hello", true},
	    {"  Hello\t  World  ", "hello world", false},
	    {"=?utf-8?q?Gr=C3=BC=C3=9Fe?=", "gr\xc3\xbc\xc3\x9f" "e", false},
	    {"Re: =?utf-8?b?R3LDvMOfZQ==?=", "gr\xc3\xbc\xc3\x9f" "e", true},
	    {"", "", false},
	    {"Re:", "", true},
	    {"Reply to this", "reply to this", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sbuf out = {0};
		bool reply;

		imap_base_subject(cases[i].in, &out, &reply);
		ck_assert_msg(strcmp(sbuf_str(&out), cases[i].want) == 0,
			      "case %zu '%s': got '%s' want '%s'", i, cases[i].in, sbuf_str(&out),
			      cases[i].want);
		ck_assert_msg(reply == cases[i].reply, "case %zu '%s': reply %d", i, cases[i].in, reply);
		sbuf_free(&out);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("imap_search");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	setlocale(LC_CTYPE, "C.UTF-8"); /* as sluice-imapd does */
	tcase_add_test(tc, test_casefold);
	tcase_add_test(tc, test_dates);
	tcase_add_test(tc, test_base_subject);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
