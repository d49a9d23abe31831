/*
 * test_quota.c: the quota rules of lib/quota.c: fit checks (mailbox bytes,
 * messages, domain bytes, the RCPT-time "already full" probe), usage
 * percentages, threshold parsing, "once per crossing" warnings, and the
 * warning message's header.
 */
#include "quota.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_check)
{
	static const struct {
		struct quota_state q;
		int64_t bytes, messages;
		enum quota_verdict want;
	} cases[] = {
	    {{0, 0, 0, 500, 5, 0}, 1000, 1, QUOTA_FITS},   /* no limits */
	    {{1000, 0, 0, 500, 5, 0}, 500, 1, QUOTA_FITS}, /* exactly full */
	    {{1000, 0, 0, 500, 5, 0}, 501, 1, QUOTA_OVER_MAILBOX},
	    {{1000, 0, 0, 999, 5, 0}, 0, 0, QUOTA_FITS},          /* probe: not full yet */
	    {{1000, 0, 0, 1000, 5, 0}, 0, 0, QUOTA_OVER_MAILBOX}, /* probe: full */
	    {{0, 10, 0, 0, 9, 0}, 1, 1, QUOTA_FITS},
	    {{0, 10, 0, 0, 10, 0}, 1, 1, QUOTA_OVER_MAILBOX}, /* message count */
	    {{0, 0, 2000, 100, 1, 1990}, 10, 1, QUOTA_FITS},
	    {{0, 0, 2000, 100, 1, 1990}, 11, 1, QUOTA_OVER_DOMAIN},
	    {{5000, 0, 2000, 100, 1, 2000}, 0, 0, QUOTA_OVER_DOMAIN}, /* probe: domain full */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(
		    quota_check(&cases[i].q, cases[i].bytes, cases[i].messages) == cases[i].want,
		    "case %zu: got %d want %d", i,
		    quota_check(&cases[i].q, cases[i].bytes, cases[i].messages), cases[i].want);
}
END_TEST

START_TEST(test_percent)
{
	struct quota_state q = {.limit_bytes = 1000, .used_bytes = 849};

	ck_assert_int_eq(quota_percent(&q), 84);
	q.used_bytes = 850;
	ck_assert_int_eq(quota_percent(&q), 85);
	/* the fuller of bytes and messages */
	q.limit_messages = 10;
	q.used_messages = 9;
	ck_assert_int_eq(quota_percent(&q), 90);
	q.used_bytes = 2500;
	ck_assert_int_eq(quota_percent(&q), 250);
	q = (struct quota_state){.used_bytes = 1 << 30};
	ck_assert_int_eq(quota_percent(&q), 0);
	q = (struct quota_state){.limit_bytes = INT64_MAX / 2, .used_bytes = INT64_MAX / 4};
	ck_assert_int_eq(quota_percent(&q), 50);
}
END_TEST

START_TEST(test_thresholds)
{
	int t[QUOTA_MAX_THRESHOLDS];
	size_t n = 99;
	const char *error = NULL;

	ck_assert_int_eq(quota_thresholds_parse("85 95", t, &n, &error), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(t[0], 85);
	ck_assert_int_eq(t[1], 95);
	ck_assert_int_eq(quota_thresholds_parse("50%,75%, 100", t, &n, &error), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(quota_thresholds_parse("", t, &n, &error), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(quota_thresholds_parse("95 85", t, &n, &error), -1);
	ck_assert_int_eq(quota_thresholds_parse("0", t, &n, &error), -1);
	ck_assert_int_eq(quota_thresholds_parse("101", t, &n, &error), -1);
	ck_assert_int_eq(quota_thresholds_parse("8x", t, &n, &error), -1);
	ck_assert_int_eq(quota_thresholds_parse("1 2 3 4 5 6 7 8 9", t, &n, &error), -1);
}
END_TEST

START_TEST(test_warning_due)
{
	const int t[] = {85, 95};

	ck_assert_int_eq(quota_warning_due(t, 2, 0, 84), 0);
	ck_assert_int_eq(quota_warning_due(t, 2, 0, 85), 85);
	ck_assert_int_eq(quota_warning_due(t, 2, 85, 90), 0); /* announced already */
	ck_assert_int_eq(quota_warning_due(t, 2, 85, 96), 95);
	ck_assert_int_eq(quota_warning_due(t, 2, 0, 99), 95); /* both crossed: the higher */
	ck_assert_int_eq(quota_warning_due(t, 2, 95, 120), 0);
	/* usage went down (warned follows it down), then up again: a new crossing */
	ck_assert_int_eq(quota_warning_due(t, 2, 40, 86), 85);
	ck_assert_int_eq(quota_warning_due(t, 0, 0, 100), 0);
}
END_TEST

START_TEST(test_message)
{
	struct quota_state q = {.limit_bytes = 10 * 1024 * 1024,
	                        .used_bytes = 9 * 1024 * 1024,
	                        .limit_messages = 100,
	                        .used_messages = 86};
	struct sbuf out = {0};

	quota_warning_message("postmaster@example.test", "bob@example.test", 85, &q, 0,
	                      "mx.example.test", &out);
	ck_assert_ptr_nonnull(strstr(out.data, "Subject: Your mailbox is 85% full\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "From: Mail System <postmaster@example.test>\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "Auto-Submitted: auto-generated\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "Storage:  9.0 MiB of 10.0 MiB\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "Messages: 86 of 100\r\n"));
	/* every line ends in CRLF */
	for (size_t i = 0; i < out.len; i++) {
		if (out.data[i] == '\n')
			ck_assert_int_eq(out.data[i - 1], '\r');
	}
	sbuf_free(&out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("quota");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_percent);
	tcase_add_test(tc, test_thresholds);
	tcase_add_test(tc, test_warning_due);
	tcase_add_test(tc, test_message);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
