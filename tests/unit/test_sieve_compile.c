/*
 * test_sieve_compile.c: the Sieve compiler's API: errors with line and
 * column numbers (several per upload, bounded by max_errors), extension
 * masks and the capability string, the size and nesting limits, and
 * include through a loader callback: nested includes, recursion, depth and
 * count limits, loader failures and errors inside included scripts; and the
 * sieve_* settings of sluice.conf.
 */
#include "config.h"
#include "sieve.h"
#include "sieve_settings.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct sieve_program *compile_ok(const char *script, const struct sieve_compile_options *o)
{
	struct sieve_program *prog = NULL;
	struct sieve_errors errors;
	struct sbuf text = {0};

	if (sieve_compile(script, strlen(script), o, &prog, &errors) < 0) {
		sieve_errors_format(&errors, &text);
		ck_abort_msg("compile failed: %s", sbuf_str(&text));
	}
	ck_assert_uint_eq(errors.count, 0);
	return prog;
}

/* Compile a script that must fail; returns its errors (caller clears them). */
static void compile_fail(const char *script, const struct sieve_compile_options *o,
                         struct sieve_errors *errors)
{
	struct sieve_program *prog = (struct sieve_program *)1;

	ck_assert_int_eq(sieve_compile(script, strlen(script), o, &prog, errors), -1);
	ck_assert_ptr_null(prog);
	ck_assert_uint_ge(errors->count, 1);
}

START_TEST(test_error_positions)
{
	struct sieve_errors e;
	struct sbuf text = {0};

	compile_fail("keep;\n  frobnicate;\n", NULL, &e);
	ck_assert_uint_eq(e.count, 1);
	ck_assert_uint_eq(e.items[0].line, 2);
	ck_assert_uint_eq(e.items[0].column, 3);
	ck_assert_ptr_nonnull(strstr(e.items[0].message, "frobnicate"));
	sieve_errors_format(&e, &text);
	ck_assert_ptr_nonnull(strstr(text.data, "line 2, column 3: "));
	sieve_errors_clear(&e);
	sbuf_free(&text);

	/* Validation goes on after an error: three bad commands, three errors. */
	compile_fail("fileinto \"a\";\nif true {\n  foo;\n}\nbar 1;\n", NULL, &e);
	ck_assert_uint_eq(e.count, 3);
	ck_assert_uint_eq(e.items[0].line, 1);
	ck_assert_uint_eq(e.items[1].line, 3);
	ck_assert_uint_eq(e.items[2].line, 5);
	sieve_errors_clear(&e);

	/* A syntax error stops at the first one, with its place. */
	compile_fail("require \"fileinto\";\nfileinto \"x\"\n}\n", NULL, &e);
	ck_assert_uint_eq(e.count, 1);
	ck_assert_uint_eq(e.items[0].line, 3);
	sieve_errors_clear(&e);
	compile_fail("keep;\n\"unterminated\n\n", NULL, &e);
	ck_assert_uint_eq(e.items[0].line, 2);
	sieve_errors_clear(&e);
	ck_assert_uint_eq(e.count, 0);
}
END_TEST

START_TEST(test_max_errors)
{
	struct sieve_compile_options o;
	struct sieve_errors e;

	sieve_compile_options_default(&o);
	o.max_errors = 2;
	compile_fail("a;\nb;\nc;\nd;\n", &o, &e);
	ck_assert_uint_eq(e.count, 2);
	sieve_errors_clear(&e);
	o.max_errors = 0; /* still reports one */
	compile_fail("a;\nb;\n", &o, &e);
	ck_assert_uint_eq(e.count, 1);
	sieve_errors_clear(&e);
}
END_TEST

START_TEST(test_extensions)
{
	struct sieve_compile_options o;
	struct sieve_program *p;
	struct sieve_errors e;
	struct sbuf caps = {0};
	const char *error;
	uint64_t mask;

	ck_assert_int_eq(sieve_extensions_parse("fileinto  reject,vacation", &mask, &error), 0);
	ck_assert(mask == ((UINT64_C(1) << SIEVE_EXT_FILEINTO) | (UINT64_C(1) << SIEVE_EXT_REJECT) |
	                   (UINT64_C(1) << SIEVE_EXT_VACATION)));
	ck_assert_int_eq(sieve_extensions_parse("fileinto nosuch", &mask, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "nosuch"));
	sieve_extensions_string(SIEVE_EXT_ALL, &caps);
	ck_assert_ptr_nonnull(strstr(caps.data, "comparator-i;ascii-numeric"));
	ck_assert_ptr_nonnull(strstr(caps.data, "vacation-seconds"));
	ck_assert_ptr_nonnull(strstr(caps.data, "extracttext"));
	ck_assert_str_eq(sieve_extension_name(SIEVE_EXT_ENOTIFY), "enotify");
	sbuf_free(&caps);

	sieve_compile_options_default(&o);
	o.extensions = SIEVE_EXT_ALL & ~(UINT64_C(1) << SIEVE_EXT_VACATION);
	compile_fail("require \"vacation\";\nvacation \"x\";\n", &o, &e);
	sieve_errors_clear(&e);
	/* ihave sees the disabled extension as missing, without an error. */
	p = compile_ok("require \"ihave\";\nif ihave \"vacation\" { vacation \"x\"; }\n", &o);
	sieve_program_free(&p);
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(test_limits)
{
	struct sieve_compile_options o;
	struct sieve_program *p;
	struct sieve_errors e;
	struct sbuf s = {0};
	int i;

	sieve_compile_options_default(&o);
	o.max_script_size = 100;
	for (i = 0; i < 30; i++)
		sbuf_append_str(&s, "keep;\n");
	compile_fail(s.data, &o, &e);
	ck_assert_ptr_nonnull(strstr(e.items[0].message, "too large"));
	sieve_errors_clear(&e);

	sieve_compile_options_default(&o);
	o.max_nesting = 5;
	sbuf_reset(&s);
	for (i = 0; i < 5; i++)
		sbuf_append_str(&s, "if true {");
	sbuf_append_str(&s, "keep;");
	for (i = 0; i < 5; i++)
		sbuf_append_str(&s, "}");
	p = compile_ok(s.data, &o);
	sieve_program_free(&p);
	sbuf_reset(&s);
	for (i = 0; i < 6; i++)
		sbuf_append_str(&s, "if true {");
	sbuf_append_str(&s, "keep;");
	for (i = 0; i < 6; i++)
		sbuf_append_str(&s, "}");
	compile_fail(s.data, &o, &e);
	sieve_errors_clear(&e);

	/* Deep test nesting is refused, never recursed into without bound. */
	sbuf_reset(&s);
	sbuf_append_str(&s, "if ");
	for (i = 0; i < 100000; i++)
		sbuf_append_str(&s, "not ");
	sbuf_append_str(&s, "true { keep; }");
	compile_fail(s.data, NULL, &e);
	sieve_errors_clear(&e);

	sieve_compile_options_default(&o);
	o.max_variables = 3;
	compile_fail("require \"variables\";\nset \"a\" \"1\"; set \"b\" \"1\"; set \"c\" \"1\";"
	             " set \"d\" \"1\";\n",
	             &o, &e);
	sieve_errors_clear(&e);
	/* Global names are bounded the same way. */
	compile_fail("require [\"include\", \"variables\"];\n"
	             "set \"x\" \"${global.a}${global.b}${global.c}${global.d}\";\n",
	             &o, &e);
	sieve_errors_clear(&e);

	/* A string of 150000 references compiles quickly (no quadratic growth). */
	sbuf_reset(&s);
	sbuf_append_str(&s, "require \"variables\";\nset \"a\" \"");
	for (i = 0; i < 150000; i++)
		sbuf_append_str(&s, "${b}");
	sbuf_append_str(&s, "\";\n");
	{
		int64_t start = monotonic_ms();
		p = compile_ok(s.data, NULL);
		ck_assert_int_lt(monotonic_ms() - start, 10000);
		sieve_program_free(&p);
	}
	sbuf_free(&s);
}
END_TEST

struct memscript {
	const char *name, *text;
	int global;
};

static const struct memscript scripts[] = {
    {"a", "require \"include\";\ninclude \"b\";\n", 0},
    {"b", "require \"fileinto\";\nfileinto \"B\";\n", 0},
    {"loop", "require \"include\";\ninclude \"loop\";\n", 0},
    {"bad", "keep;\n\nnosuchcommand;\n", 0},
    {"c", "keep;\n", 0},
    {"g", "discard;\n", 1},
};

static int mem_loader(void *ctx, enum sieve_script_location loc, const char *name, char **data_r,
                      size_t *len_r, const char **error_r)
{
	size_t i;

	(void)ctx;
	if (strcmp(name, "broken-store") == 0) {
		*error_r = "disk on fire";
		return -1;
	}
	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		if (strcmp(scripts[i].name, name) == 0 &&
		    scripts[i].global == (loc == SIEVE_LOCATION_GLOBAL)) {
			*data_r = strdup(scripts[i].text);
			*len_r = strlen(scripts[i].text);
			return 1;
		}
	}
	return 0;
}

START_TEST(test_includes)
{
	struct sieve_compile_options o;
	struct sieve_program *p;
	struct sieve_errors e;

	sieve_compile_options_default(&o);
	o.include_loader = mem_loader;
	p = compile_ok("require \"include\";\ninclude \"a\";\ninclude :global \"g\";\n", &o);
	sieve_program_free(&p);

	compile_fail("require \"include\";\ninclude :global \"a\";\n", &o, &e);
	ck_assert_ptr_nonnull(strstr(e.items[0].message, "not found"));
	sieve_errors_clear(&e);

	compile_fail("require \"include\";\ninclude \"loop\";\n", &o, &e);
	ck_assert_ptr_nonnull(strstr(e.items[0].message, "recursion"));
	sieve_errors_clear(&e);

	/* An error inside an included script names that script and its line. */
	compile_fail("require \"include\";\ninclude \"bad\";\n", &o, &e);
	ck_assert_ptr_nonnull(e.items[0].script);
	ck_assert_str_eq(e.items[0].script, "bad");
	ck_assert_uint_eq(e.items[0].line, 3);
	sieve_errors_clear(&e);

	compile_fail("require \"include\";\ninclude \"broken-store\";\n", &o, &e);
	ck_assert_ptr_nonnull(strstr(e.items[0].message, "disk on fire"));
	sieve_errors_clear(&e);

	o.max_include_depth = 1;
	compile_fail("require \"include\";\ninclude \"a\";\n", &o, &e);
	sieve_errors_clear(&e);
	sieve_compile_options_default(&o);
	o.include_loader = mem_loader;
	o.max_includes = 1;
	compile_fail("require \"include\";\ninclude \"b\";\ninclude \"c\";\n", &o, &e);
	sieve_errors_clear(&e);

	/* Without a loader, include cannot find anything (but :optional is fine). */
	compile_fail("require \"include\";\ninclude \"a\";\n", NULL, &e);
	sieve_errors_clear(&e);
	p = compile_ok("require \"include\";\ninclude :optional \"a\";\n", NULL);
	sieve_program_free(&p);
}
END_TEST

START_TEST(test_binary_input)
{
	static const char junk[] = "\x00\xff{[(\"\\:;text:\n.\n";
	struct sieve_program *p = NULL;
	struct sieve_errors e;

	ck_assert_int_eq(sieve_compile(junk, sizeof(junk) - 1, NULL, &p, &e), -1);
	sieve_errors_clear(&e);
	ck_assert_int_eq(sieve_compile("", 0, NULL, &p, &e), 0);
	sieve_program_free(&p);
	ck_assert_int_eq(sieve_compile(NULL, 0, NULL, &p, &e), 0);
	sieve_program_free(&p);
}
END_TEST

START_TEST(test_settings)
{
	static const char conf[] = "sieve_extensions = fileinto vacation\n"
	                           "sieve_max_redirects = 2\n"
	                           "sieve_vacation_min_period = 1h\n"
	                           "sieve_spamtest_type = text\n"
	                           "sieve_spamtest_text = no maybe yes\n"
	                           "sieve_before = spam-to-junk  audit\n";
	char path[] = "/tmp/sluice-test-sieve-conf-XXXXXX";
	struct sieve_settings s;
	struct config *cfg;
	const char *error;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, conf, strlen(conf)), (ssize_t)strlen(conf));
	close(fd);
	ck_assert_int_eq(config_load(path, 0, &cfg, &error), 0);
	ck_assert_int_eq(sieve_settings_load(cfg, &s, &error), 0);
	config_free(&cfg);
	unlink(path);
	ck_assert(s.compile.extensions ==
	          ((UINT64_C(1) << SIEVE_EXT_FILEINTO) | (UINT64_C(1) << SIEVE_EXT_VACATION)));
	ck_assert_uint_eq(s.env.limits.max_redirects, 2);
	ck_assert_uint_eq(s.env.limits.vacation_min_period, 3600);
	ck_assert_int_eq(s.env.spam.type, SIEVE_SCORE_TEXT);
	ck_assert_uint_eq(s.env.spam.text_count, 3);
	ck_assert_str_eq(s.env.spam.text_values[2], "yes");
	ck_assert_str_eq(s.env.spam.header, "X-Spam-Score");
	ck_assert_uint_eq(s.nbefore, 2);
	ck_assert_str_eq(s.before[1], "audit");
	ck_assert_uint_eq(s.nafter, 0);
	sieve_settings_free(&s);

	/* Without a file: the defaults, every extension on. */
	ck_assert_int_eq(sieve_settings_load(NULL, &s, &error), 0);
	ck_assert(s.compile.extensions == SIEVE_EXT_ALL);
	ck_assert_uint_eq(s.env.limits.max_redirects, 4);
	ck_assert_uint_eq(s.env.limits.vacation_default_period, 7 * 86400);
	ck_assert_str_eq(s.global_dir, "/etc/sluice/sieve");
	sieve_settings_free(&s);
}
END_TEST

static Suite *compile_suite(void)
{
	Suite *s = suite_create("sieve_compile");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_error_positions);
	tcase_add_test(tc, test_max_errors);
	tcase_add_test(tc, test_extensions);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_includes);
	tcase_add_test(tc, test_binary_input);
	tcase_add_test(tc, test_settings);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(compile_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
