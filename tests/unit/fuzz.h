/*
 * fuzz.h: what the randomized unit tests (test_imap_fuzz.c,
 * test_message_fuzz.c) share: checks that report only failures, a seeded
 * generator so every failure reproduces, the iteration count and seed from
 * the environment (SLUICE_FUZZ_ITERATIONS, SLUICE_FUZZ_SEED), exact-size
 * copies for ASan and a UTF-8 check independent of the code under test.
 * Included by one test file each; touches nothing but its own generator.
 */
#ifndef SLUICE_TESTS_FUZZ_H
#define SLUICE_TESTS_FUZZ_H

#include "util.h"

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Check's ck_assert() sends the runner a record for every check that
 * passes, which millions of checks turn into most of the run time: these
 * report failures only.
 */
#define CHECK(c) CHECKF(c, "%s:%d: failed: %s", __FILE__, __LINE__, #c)
#define CHECKF(c, ...)                         \
	do {                                   \
		if (!(c))                      \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)
#define CHECK_INT(a, op, b)                                                                   \
	do {                                                                                  \
		long long a_ = (long long)(a), b_ = (long long)(b);                           \
		CHECKF(a_ op b_, "%s:%d: failed: %s %s %s (%lld, %lld)", __FILE__, __LINE__, #a, \
		       #op, #b, a_, b_);                                                      \
	} while (0)
#define CHECK_UINT(a, op, b)                                                                \
	do {                                                                                \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
		CHECKF(a_ op b_, "%s:%d: failed: %s %s %s (%llu, %llu)", __FILE__, __LINE__, #a, \
		       #op, #b, a_, b_);                                                    \
	} while (0)

static uint64_t fuzz_rng_state;

static inline uint64_t rng(void)
{
	/* xorshift64*: fixed seed, so runs are reproducible */
	fuzz_rng_state ^= fuzz_rng_state >> 12;
	fuzz_rng_state ^= fuzz_rng_state << 25;
	fuzz_rng_state ^= fuzz_rng_state >> 27;
	return fuzz_rng_state * 2685821657736338717ULL;
}

/* A number below n (0 for n = 0). */
static inline size_t rnd(size_t n)
{
	return n == 0 ? 0 : (size_t)(rng() % n);
}

static inline unsigned long fuzz_env_number(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? strtoul(v, NULL, 0) : def;
}

/* SLUICE_FUZZ_ITERATIONS, else the test's default. */
static inline unsigned long fuzz_rounds(unsigned long def)
{
	return fuzz_env_number("SLUICE_FUZZ_ITERATIONS", def);
}

/* Start the generator for one test (salt tells the tests apart), from SLUICE_FUZZ_SEED. */
static inline void fuzz_seed(uint64_t salt)
{
	fuzz_rng_state = (fuzz_env_number("SLUICE_FUZZ_SEED", 0) + 1) * 0x9e3779b97f4a7c15ULL ^ salt;
	if (fuzz_rng_state == 0)
		fuzz_rng_state = 1;
}

/* An exact-size heap copy, so ASan sees a read one byte past the end. */
static inline char *exact_copy(const void *data, size_t len)
{
	char *c = xmalloc(len > 0 ? len : 1);

	if (len > 0)
		memcpy(c, data, len);
	return c;
}

/* A plain UTF-8 check (RFC 3629), independent of the code under test. */
static inline bool utf8_valid(const void *data, size_t len)
{
	const unsigned char *s = data;

	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			n = 2, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			n = 3, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			n = 4, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (i + n > len)
			return false;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n;
	}
	return true;
}

#endif
