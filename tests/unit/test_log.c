/*
 * test_log.c: untrusted text escaping and truncation, and the session / queue
 * id prefixes on log lines (captured through a pipe on stderr).
 */
#include "log.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(test_untrusted)
{
	char buf[LOG_UNTRUSTED_BUFSZ];
	char big[LOG_UNTRUSTED_MAX + 50];

	ck_assert_str_eq(log_untrusted(buf, "plain text", 10), "plain text");
	ck_assert_str_eq(log_untrusted(buf, "a\r\nb\0c\\", 7), "a\\x0D\\x0Ab\\x00c\\x5C");
	ck_assert_str_eq(log_untrusted(buf, "\xc3\xa9", 2), "\\xC3\\xA9");
	memset(big, '\xff', sizeof(big));
	log_untrusted(buf, big, sizeof(big));
	ck_assert_uint_eq(strlen(buf), LOG_UNTRUSTED_MAX * 4 + 3);
	ck_assert_str_eq(buf + LOG_UNTRUSTED_MAX * 4, "...");
}
END_TEST

START_TEST(test_prefixes)
{
	int fds[2], saved;
	char out[4096];
	ssize_t n;

	ck_assert_int_eq(pipe(fds), 0);
	saved = dup(STDERR_FILENO);
	dup2(fds[1], STDERR_FILENO);
	log_init("/usr/sbin/sluice-test", 0, LOG_LEVEL_INFO);
	log_debug("hidden");
	log_set_session("S1");
	log_set_queue_id("Q2");
	log_info("hello %d", 42);
	log_set_session(NULL);
	log_set_queue_id(NULL);
	log_warn("two\nlines");
	dup2(saved, STDERR_FILENO);
	close(fds[1]);
	n = read(fds[0], out, sizeof(out) - 1);
	ck_assert_int_gt(n, 0);
	out[n] = '\0';
	ck_assert_ptr_null(strstr(out, "hidden"));
	ck_assert_ptr_nonnull(strstr(out, "sluice-test["));
	ck_assert_ptr_nonnull(strstr(out, "]: session=S1: Q2: hello 42\n"));
	ck_assert_ptr_nonnull(strstr(out, "]: warning: two lines\n"));
	ck_assert_int_eq(log_level_parse("warn"), LOG_LEVEL_WARN);
	ck_assert_int_eq(log_level_parse("debug"), LOG_LEVEL_DEBUG);
	ck_assert_int_eq(log_level_parse("loud"), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_untrusted);
	tcase_add_test(tc, test_prefixes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
