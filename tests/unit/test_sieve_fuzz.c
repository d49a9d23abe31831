/*
 * test_sieve_fuzz.c: the compiler and interpreter take arbitrary bytes
 * without crashing, leaking or hanging. Every script of our case corpus and
 * of the shared corpus (when it is beside the repository) is compiled at
 * every truncation length and after many random mutations (byte flips,
 * inserted syntax characters, deleted and repeated spans); what compiles is
 * run against the case's message. Each compile and run must finish within a
 * bound. Random byte strings are compiled too. Run under ASan+UBSan by
 * tests/run. The generator is seeded, so a failure is reproducible.
 */
#include "log.h"
#include "sieve.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SIEVE_OWN_CASES
#define SIEVE_OWN_CASES "tests/sieve/cases"
#endif
#ifndef SIEVE_SHARED_CASES
#define SIEVE_SHARED_CASES "../shared/sieve/cases"
#endif

#define MUTATIONS_PER_SCRIPT 300
#define MAX_COMPILE_MS 3000
#define MAX_RUN_MS 8000

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	/* xorshift64*: fixed seed, so runs are reproducible */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static char *slurp(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	struct sbuf b = {0};
	char buf[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_append(&b, buf, n);
	fclose(f);
	sbuf_append(&b, "", 0);
	*len_r = b.len;
	return b.data;
}

static unsigned long compiled, failed_compiles, runs;

/* Compile one candidate and, when it compiles, run it; both must stay in bounds. */
static void try_script(const char *script, size_t len, const struct message *msg)
{
	struct sieve_compile_options opts;
	struct sieve_program *prog = NULL;
	struct sieve_errors errors;
	struct sieve_envelope envelope = {"alice@example.org", "bob@example.com", NULL, NULL};
	struct sieve_env env;
	struct sieve_result *r;
	struct sbuf out = {0};
	int64_t start = monotonic_ms();
	int rc;

	sieve_compile_options_default(&opts);
	rc = sieve_compile(script, len, &opts, &prog, &errors);
	ck_assert_int_lt(monotonic_ms() - start, MAX_COMPILE_MS);
	if (rc < 0) {
		ck_assert_ptr_null(prog);
		ck_assert_uint_ge(errors.count, 1);
		sieve_errors_format(&errors, &out);
		sbuf_free(&out);
		sieve_errors_clear(&errors);
		failed_compiles++;
		return;
	}
	compiled++;
	if (msg == NULL) {
		sieve_program_free(&prog);
		return;
	}
	sieve_env_default(&env);
	env.limits.max_cpu_ms = 2000;
	start = monotonic_ms();
	r = sieve_run(prog, msg, &envelope, &env);
	ck_assert_int_lt(monotonic_ms() - start, MAX_RUN_MS);
	sieve_result_format(r, "INBOX", &out);
	/* Whatever happened, the result prints as complete lines. */
	ck_assert(out.len > 0 && out.data[out.len - 1] == '\n');
	ck_assert(!r->failed || strcmp(out.data, "error runtime\n") == 0);
	sbuf_free(&out);
	sieve_result_free(&r);
	sieve_program_free(&prog);
	runs++;
}

static const char syntax_bytes[] = "{}[](),;:\"\\*?$#/ \n\r\t.0123456789KMGabc";

static void mutate_and_try(const char *script, size_t len, const struct message *msg)
{
	char *buf = malloc(len * 2 + 64);
	size_t n, i, a, b;
	int m;

	for (m = 0; m < MUTATIONS_PER_SCRIPT; m++) {
		memcpy(buf, script, len);
		n = len;
		for (i = 0; i < 1 + rng() % 4; i++) {
			switch (rng() % 5) {
			case 0: /* flip a byte */
				if (n > 0)
					buf[rng() % n] = (char)(rng() & 0xff);
				break;
			case 1: /* insert a syntax character */
				if (n < len * 2 + 32) {
					a = n > 0 ? rng() % (n + 1) : 0;
					memmove(buf + a + 1, buf + a, n - a);
					buf[a] = syntax_bytes[rng() % (sizeof(syntax_bytes) - 1)];
					n++;
				}
				break;
			case 2: /* delete a span */
				if (n > 0) {
					a = rng() % n;
					b = a + rng() % (n - a + 1);
					memmove(buf + a, buf + b, n - b);
					n -= b - a;
				}
				break;
			case 3: /* repeat a span */
				if (n > 0) {
					a = rng() % n;
					b = a + 1 + rng() % (n - a < 16 ? n - a : 16);
					if (n + (b - a) <= len * 2 + 32) {
						memmove(buf + b + (b - a), buf + b, n - b);
						memcpy(buf + b, buf + a, b - a);
						n += b - a;
					}
				}
				break;
			default: /* cut the end */
				if (n > 0)
					n = rng() % n;
				break;
			}
		}
		try_script(buf, n, msg);
	}
	free(buf);
}

static int corpus_pass(const char *dir, int *scripts_r)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		char *script, *text;
		size_t slen, mlen, cut;
		struct message *msg = NULL;
		const char *error;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/script.sieve", dir, de->d_name);
		script = slurp(path, &slen);
		if (script == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s/message.eml", dir, de->d_name);
		text = slurp(path, &mlen);
		if (text != NULL && message_parse(text, mlen, NULL, &msg, &error) < 0)
			msg = NULL;
		/* Every truncation: a script cut anywhere must fail cleanly or compile. */
		for (cut = 0; cut <= slen; cut++)
			try_script(script, cut, msg);
		mutate_and_try(script, slen, msg);
		(*scripts_r)++;
		message_free(&msg);
		free(script);
		free(text);
	}
	closedir(d);
	return 0;
}

START_TEST(test_corpus_truncations_and_mutations)
{
	int scripts = 0;

	ck_assert_msg(corpus_pass(SIEVE_OWN_CASES, &scripts) == 0, "cannot read %s",
	              SIEVE_OWN_CASES);
	if (corpus_pass(SIEVE_SHARED_CASES, &scripts) < 0)
		fprintf(stderr, "note: shared corpus %s not found, fuzzing our own cases only\n",
		        SIEVE_SHARED_CASES);
	ck_assert_int_gt(scripts, 100);
	ck_assert_uint_gt(compiled, 1000);
	ck_assert_uint_gt(failed_compiles, 1000);
	fprintf(stderr, "%d scripts: %lu compiled, %lu refused, %lu runs\n", scripts, compiled,
	        failed_compiles, runs);
}
END_TEST

START_TEST(test_random_bytes)
{
	char buf[512];
	size_t n, i;
	int k;

	for (k = 0; k < 3000; k++) {
		n = rng() % sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = k % 2 ? (char)(rng() & 0xff)
			               : syntax_bytes[rng() % (sizeof(syntax_bytes) - 1)];
		try_script(buf, n, NULL);
	}
}
END_TEST

static Suite *fuzz_suite(void)
{
	Suite *s = suite_create("sieve_fuzz");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_corpus_truncations_and_mutations);
	tcase_add_test(tc, test_random_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fuzz_suite());
	int failed;

	log_init("test_sieve_fuzz", 0, LOG_LEVEL_WARN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
