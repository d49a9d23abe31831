/*
 * test_imap_utf7.c: modified UTF-7 mailbox names (imapd/imap_utf7.c):
 * both directions on RFC 3501 5.1.3's example and on names mail clients
 * use, and the strictness of decoding (one spelling per name).
 */
#include "imap_utf7.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *utf8, *utf7;
} pairs[] = {
    {"INBOX", "INBOX"},
    {"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
     "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
    {"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
    {"\xf0\x9f\x98\x80x", "&2D3eAA-x"},
    {"&", "&-"},
    {"a&b", "a&-b"},
    {"\xd0\x9e\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xbd\xd0\xbd\xd1\x8b\xd0\xb5",
     "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"},
    {"\x01", "&AAE-"},
    {"", ""},
};

START_TEST(test_pairs)
{
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct sbuf a = {0}, b = {0};

		ck_assert_int_eq(imap_utf8_to_utf7(pairs[i].utf8, strlen(pairs[i].utf8), &a), 0);
		ck_assert_msg(strcmp(sbuf_str(&a), pairs[i].utf7) == 0, "encode %zu: got %s want %s", i,
			      sbuf_str(&a), pairs[i].utf7);
		ck_assert_int_eq(imap_utf7_to_utf8(pairs[i].utf7, strlen(pairs[i].utf7), &b), 0);
		ck_assert_msg(strcmp(sbuf_str(&b), pairs[i].utf8) == 0, "decode %zu: got %s", i,
			      sbuf_str(&b));
		sbuf_free(&a);
		sbuf_free(&b);
	}
}
END_TEST

START_TEST(test_invalid)
{
	static const char *const bad_utf7[] = {
	    "&",            /* unterminated */
	    "&U,BTFw",      /* unterminated run */
	    "&AGE-",        /* "a" must stand for itself */
	    "&APw-&APw-",   /* two runs in a row */
	    "&APx-",        /* non-zero padding bits */
	    "&AP-",         /* a partial unit */
	    "&2D0-",        /* a lone high surrogate */
	    "&3gA-",        /* a lone low surrogate */
	    "a\x80",        /* 8-bit */
	    "a\tb",         /* a control character */
	    "&U/BTFw-",     /* '/' is ',' in modified base64 */
	};
	static const char *const bad_utf8[] = {"\xc3", "\xc0\xaf", "\xed\xa0\x80", "a\xffz"};
	struct sbuf out = {0};

	sbuf_append_str(&out, "keep");
	for (size_t i = 0; i < sizeof(bad_utf7) / sizeof(bad_utf7[0]); i++) {
		ck_assert_msg(imap_utf7_to_utf8(bad_utf7[i], strlen(bad_utf7[i]), &out) == -1,
			      "%s decoded", bad_utf7[i]);
		ck_assert_str_eq(sbuf_str(&out), "keep");
	}
	for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		ck_assert_int_eq(imap_utf8_to_utf7(bad_utf8[i], strlen(bad_utf8[i]), &out), -1);
		ck_assert_str_eq(sbuf_str(&out), "keep");
	}
	sbuf_free(&out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("imap_utf7");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_pairs);
	tcase_add_test(tc, test_invalid);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
