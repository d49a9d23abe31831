/*
 * test_config.c: sluice.conf parsing: values of each type, defaults, errors
 * that name the file and line, and config_dump's two forms.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *write_conf(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/sluice-test-conf-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(test_values)
{
	struct config *cfg;
	const char *error = NULL;
	char *path = write_conf("# comment\n\n  log_level = debug  \n"
				"db_pool_size=8\nauthd_penalty_max = 1m\n"
				"mail_root = \" /x y \"\nlog_syslog = yes\n");

	ck_assert_int_eq(config_load(path, 0, &cfg, &error), 0);
	ck_assert_str_eq(config_str(cfg, "log_level"), "debug");
	ck_assert_int_eq(config_int(cfg, "db_pool_size"), 8);
	ck_assert_int_eq(config_duration_ms(cfg, "authd_penalty_max"), 60000);
	ck_assert_int_eq(config_duration_ms(cfg, "authd_penalty_initial"), 2000);
	ck_assert_str_eq(config_str(cfg, "mail_root"), " /x y ");
	ck_assert_int_eq(config_bool(cfg, "log_syslog"), 1);
	ck_assert_uint_eq(config_line(cfg, "db_pool_size"), 4);
	ck_assert_uint_eq(config_line(cfg, "db_url"), 0);
	config_free(&cfg);
	ck_assert_ptr_null(cfg);
	unlink(path);
}
END_TEST

static void expect_error(const char *text, const char *want)
{
	struct config *cfg = NULL;
	const char *error = NULL;
	char *path = write_conf(text);

	ck_assert_int_eq(config_load(path, 0, &cfg, &error), -1);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(error, want) != NULL, "got '%s', want '%s'", error, want);
	ck_assert_msg(strstr(error, path) != NULL, "error '%s' lacks the file name", error);
	unlink(path);
}

START_TEST(test_errors)
{
	expect_error("log_level = info\nno_such_key = 1\n", ":2: unknown setting 'no_such_key'");
	expect_error("db_pool_size = many\n", ":1: db_pool_size = many: not a valid integer");
	expect_error("db_pool_size = 0\n", ":1: db_pool_size = 0: out of range");
	expect_error("\n\nlog_syslog = perhaps\n", ":3: log_syslog = perhaps");
	expect_error("authd_penalty_max = 5 minutes\n", ":1: authd_penalty_max");
	expect_error("just words\n", ":1: expected `key = value`");
	/* settings with a fixed set of values */
	expect_error("log_level = loud\n", ":1: log_level = loud: must be one of debug|info|warn|error");
	expect_error("\nsmtpd_bare_newline = drop\n", ":2: smtpd_bare_newline = drop: must be one of");
	expect_error("sieved_plaintext_auth = loopbac\n", ":1: sieved_plaintext_auth = loopbac");
	expect_error("log_level = INFO\n", ":1: log_level = INFO: must be one of");
	expect_error("db_pool_size = 2\ndb_pool_size = 3\n", ":2: db_pool_size set twice");
}
END_TEST

START_TEST(test_parse_value)
{
	int64_t v;

	ck_assert_int_eq(config_parse_value(SETTING_SIZE, "10M", &v), 0);
	ck_assert_int_eq(v, 10 * 1024 * 1024);
	ck_assert_int_eq(config_parse_value(SETTING_SIZE, "1G", &v), 0);
	ck_assert_int_eq(v, 1024LL * 1024 * 1024);
	ck_assert_int_eq(config_parse_value(SETTING_SIZE, "512", &v), 0);
	ck_assert_int_eq(v, 512);
	ck_assert_int_eq(config_parse_value(SETTING_SIZE, "9999999999999T", &v), -1);
	ck_assert_int_eq(config_parse_value(SETTING_SIZE, "1X", &v), -1);
	ck_assert_int_eq(config_parse_value(SETTING_DURATION, "250ms", &v), 0);
	ck_assert_int_eq(v, 250);
	ck_assert_int_eq(config_parse_value(SETTING_DURATION, "2h", &v), 0);
	ck_assert_int_eq(v, 7200000);
	ck_assert_int_eq(config_parse_value(SETTING_DURATION, "", &v), -1);
	ck_assert_int_eq(config_parse_value(SETTING_BOOL, "off", &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(config_parse_value(SETTING_INT, "12abc", &v), -1);
}
END_TEST

START_TEST(test_missing_and_dump)
{
	struct config *cfg;
	const char *error = NULL;
	char buf[8192];
	FILE *out;

	ck_assert_int_eq(config_load("/nonexistent/sluice.conf", 0, &cfg, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "/nonexistent/sluice.conf"));
	ck_assert_int_eq(config_load("/nonexistent/sluice.conf", 1, &cfg, &error), 0);
	out = fmemopen(buf, sizeof(buf), "w");
	config_dump(cfg, out, 1);
	fclose(out);
	ck_assert_str_eq(buf, "");
	config_free(&cfg);

	char *path = write_conf("db_pool_size = 9\n");
	ck_assert_int_eq(config_load(path, 0, &cfg, &error), 0);
	out = fmemopen(buf, sizeof(buf), "w");
	config_dump(cfg, out, 1);
	fclose(out);
	ck_assert_str_eq(buf, "db_pool_size = 9\n");
	out = fmemopen(buf, sizeof(buf), "w");
	config_dump(cfg, out, 0);
	fclose(out);
	ck_assert_ptr_nonnull(strstr(buf, "log_level = info\n"));
	ck_assert_ptr_nonnull(strstr(buf, "db_pool_size = 9\n"));
	config_free(&cfg);
	unlink(path);
}
END_TEST

START_TEST(test_defaults_valid)
{
	/* config_defaults() panics on a default its own table rejects. */
	struct config *cfg = config_defaults();
	ck_assert_ptr_nonnull(cfg);
	config_free(&cfg);
	config_free(&cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_parse_value);
	tcase_add_test(tc, test_missing_and_dump);
	tcase_add_test(tc, test_defaults_valid);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
