/*
 * test_password.c: lib/password.c against hashes made by the real tools that
 * fill PostfixAdmin and Dovecot databases: doveadm pw, mkpasswd, openssl
 * passwd, PHP as PostfixAdmin calls it, and the argon2 reference CLI. Each
 * vector is pasted as made, with the command that made it. For each: the right
 * password matches, wrong, empty and 4 KiB ones do not, the rehash answer and
 * the scheme name for logs are right; cut or altered hashes never match.
 */
#include "config.h"
#include "password.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The password of every vector below unless the row says otherwise. */
#define PW "Tr0ub4dor&3"
#define PW_UTF8 "p\xc3\xa4ssw\xc3\xb6rd \xe2\x82\xacuro" /* "pässwörd €uro" */

struct vector {
	const char *stored;
	const char *plain; /* NULL: PW */
	const char *name;  /* password_scheme_name() */
	int rehash;        /* needs_rehash after a match */
};

static const struct vector vectors[] = {
    /* dovecot-core 2.3.19.1 (Debian 12): doveadm pw -s SCHEME -p 'Tr0ub4dor&3' */
    {"{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$a3nlLw9mYJPQv55GMSBmBw$"
     "dcJhKoK/P3AOg9EkqWR3ImIp5XTao4LK6OrlCybkMBM",
     NULL, "ARGON2I", 1},
    /* Dovecot's argon2id cost is ours (t=3, m=64 MiB): no rehash. */
    {"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$V5tRmbgvy8AgELlYNvrAzw$"
     "SlOEXJuXlrIupCwte+56vmSwNGFbbUzTTFyTG4OtUGY",
     NULL, "ARGON2ID", 0},
    {"{SHA512-CRYPT}$6$5OARL9yDMeZtd/rz$5qlInkTYk8b3gyCqBmYsCqyAuk6Qs9F4LXaDvD6EKb9DNYirFYoFHkD"
     "fAYJTKaBWE5ISA8l5sUASfsXCXkPfK/",
     NULL, "SHA512-CRYPT", 1},
    {"{SHA256-CRYPT}$5$1KQJEP6N9J7Aq7Fq$V/RPj.Tdvhjth4oSUZZCjYeEOzVz28H9gwvp8nbg6i3", NULL,
     "SHA256-CRYPT", 1},
    {"{BLF-CRYPT}$2y$05$iizdq6CMSuKfkJjKGtIBVO35VZ6vD0ioULYjk14vJ/lE.spdHqmyi", NULL, "BLF-CRYPT",
     1},
    {"{MD5-CRYPT}$1$qft8hWyC$.X7uLmFTXSDq47OIm4BR0/", NULL, "MD5-CRYPT", 1},
    {"{SSHA512}ppwYOI5BszDOOImZud+48m4tm46u0tMOlqELnjs15Wk6zupkp6vwm48G9imM93bP578Bwq75jqlDttyy/"
     "CRxXwCeiUw=",
     NULL, "SSHA512", 1},
    {"{SSHA256}B6xftD4rufhqMsdOyW6Uc3hy+dyz5/h0vOFzVO4YG6P6EJpc", NULL, "SSHA256", 1},
    {"{SSHA}9up18vE6WXx7xGyxzYAKVjDT7YICuH3z", NULL, "SSHA", 1},
    {"{SMD5}cCWJtq4RIP5j6zD8lwGQJ/jg+JU=", NULL, "SMD5", 1},
    {"{PLAIN-MD5}4ece57a61323b52ccffdbef021956754", NULL, "PLAIN-MD5", 1},
    {"{PLAIN}Tr0ub4dor&3", NULL, "PLAIN", 1},
    {"{SHA512}xyu2IccEDPS2R0BjqaeXJpDiUvNa2+fPr/Wx7iMW7+c4LnI9QeATor+8M8MAfFDFhH0hqInM6DhTbqxyeAj"
     "eQA==",
     NULL, "SHA512", 1},
    {"{SHA256}SEhuFRToQjRv9AWx5F9EBZroJhnyMG+Z0JQNyzhukfc=", NULL, "SHA256", 1},
    {"{SHA}h0Vy56WuaklGamrFeLmK26eMaqY=", NULL, "SHA1", 1},
    {"{SHA1}h0Vy56WuaklGamrFeLmK26eMaqY=", NULL, "SHA1", 1},
    {"{CRYPT}$2y$05$z2ptRSZmfHkn.12g8kEbjevSNKJSgPXk9WvrxF6JT1lzeEYdblUQy", NULL, "BLF-CRYPT", 1},
    {"{MD5}$1$0NxmeQhz$g9XtjHP2DQ1CMJQhZhHQG.", NULL, "MD5-CRYPT", 1},
    {"{LDAP-MD5}Ts5XphMjtSzP/b7wIZVnVA==", NULL, "LDAP-MD5", 1},
    {"{CLEAR}Tr0ub4dor&3", NULL, "PLAIN", 1},
    {"{PLAIN.B64}VHIwdWI0ZG9yJjM=", NULL, "PLAIN", 1},
    {"{SSHA512.HEX}146fed1c3f895d76130140b0dd6237164f75508a9f6635ed912aa63be25f4a58b0b147fe67fe5fc"
     "946ca98f37a8d9544a6d6bc607caa02c1774670c4859e7c12053496af",
     NULL, "SSHA512", 1},
    {"{SHA256.HEX}48486e1514e842346ff405b1e45f44059ae82619f2306f99d0940dcb386e91f7", NULL, "SHA256",
     1},
    {"{PLAIN-MD5.B64}Ts5XphMjtSzP/b7wIZVnVA==", NULL, "PLAIN-MD5", 1},
    {"{SHA512-CRYPT.B64}JDYkQnh5WUR2bVkuNW9LSFBZcCQudmwuUFNzUWd3ZG1Jd2EuZ3laNXdxc016RTdOVGpqZFdMWE"
     "xrZ25hUEhqVFNMU1MxeEY5QzQ0cXphRFNLdEdvazMzekVIQ2FTZFNZVmNwNGExcFlQLg==",
     NULL, "SHA512-CRYPT", 1},
    {"{SHA512.HEX}c72bb621c7040cf4b6474063a9a7972690e252f35adbe7cfaff5b1ee2316efe7382e723d41e013a"
     "2bfbc33c3007c50c5847d21a889cce838536eac727808de40",
     NULL, "SHA512", 1},
    {"{SSHA.HEX}021e570b5a28b44705c88db2b419365fc7f626fd93170975", NULL, "SSHA", 1},
    {"{DES-CRYPT}R3aC2dqeoHDh.", NULL, "DES-CRYPT", 1},
    {"{SHA1.HEX}874572e7a5ae6a49466a6ac578b98adba78c6aa6", NULL, "SHA1", 1},
    /* doveadm pw -s SHA512-CRYPT / -s SSHA512 -p 'pässwörd €uro' (UTF-8) */
    {"{SHA512-CRYPT}$6$2VhoWkMJ44F1ePkv$olNGuPia2TFYzZReTjU6092zEIq/yPjvQarRLfG.6GDiftj.k8.Ey2XNNQ"
     "3.4c0nVS/ltu/8KG/XlyGNskH.e0",
     PW_UTF8, "SHA512-CRYPT", 1},
    {"{SSHA512}LOD7BbjmMU/qT2CZAYk1K3wgRIOAFSH7QhzpIOLEf+qgYJMpO3MC6Y/QYjMzWBSCLkNOODscR6GEyY2KgOg"
     "PcZL6QbA=",
     PW_UTF8, "SSHA512", 1},

    /* whois 5.5.17 (Debian 12): mkpasswd -m METHOD 'Tr0ub4dor&3', stored bare as
     * PostfixAdmin's encrypt=md5crypt/system do, or with {CRYPT} for des. */
    {"$6$pyuxATkSdLbf2vfz$kC4Rplt0RrGbINMTsBD/ledz1RLPRDS7mSHi9X5H8KzZ3he1gop1AHmqzpn0dzHwDsxTM9b"
     "uugY4luAD9OZi8/",
     NULL, "SHA512-CRYPT", 1},
    {"$5$5w5NuhKo.H0whvYf$PjCXSBTFzg7dpMtV/GWE/bijmqCuCbhIml9MsjdaiRB", NULL, "SHA256-CRYPT", 1},
    {"$1$oBfJxP2u$ewutnhLBDV3MNekomXK14.", NULL, "MD5-CRYPT", 1},
    {"$2b$05$oObHGNm6ufqcqoDHAMvJ2.1ztPJatr/rxEFCHoEYNxEYedVo3cL5q", NULL, "BLF-CRYPT", 1},
    /* mkpasswd -m bcrypt-a */
    {"$2a$05$NedgcC5WhqnviGiLV6in7etUZHgGYR2WKl1ChhfKbuXq.XU1jZj/u", NULL, "BLF-CRYPT", 1},
    /* mkpasswd -m des, with the {CRYPT} prefix added */
    {"{CRYPT}k6iXFmfdduYfU", NULL, "DES-CRYPT", 1},
    /* mkpasswd -m sha-512 -R 10000 */
    {"$6$rounds=10000$BHyH.KNysSNyYcKH$GJT0jTxcwj7OogHCgK4dig/4EwxvFo/VpJ9aTPHSzUhImWnB67l.fno2WG"
     "5GwdOjO8GnbxGKjVM3qGPW4JLyk.",
     NULL, "SHA512-CRYPT", 1},

    /* OpenSSL 3.0 (Debian 12): openssl passwd -6 / -5 / -1 'Tr0ub4dor&3' */
    {"$6$0aMaoXttUM5jpVrv$upkaZyy.GcqD/mQlOzQ4RmUMiyyTnI78w.egkLQjDitavtc4ep15p02XU2YilJCmgb3LMri"
     "lTP3DsOO6dCQPu1",
     NULL, "SHA512-CRYPT", 1},
    {"$5$ZULQwiHo/XbIky6O$BJhp4jcXYFKKdKjJBUFK2apwrIozsRQwH1xpGLV5aY3", NULL, "SHA256-CRYPT", 1},
    {"$1$rAnW96Lb$0U5raJyuCRYfeJLISl/6x1", NULL, "MD5-CRYPT", 1},
    /* PostfixAdmin md5crypt style (bare, 8 hex digit salt):
     * openssl passwd -1 -salt 8f14e45f 'Tr0ub4dor&3' */
    {"$1$8f14e45f$Z6iOaAZt1S/hqpNGUMOtd0", NULL, "MD5-CRYPT", 1},

    /* PHP 8.2 (Debian 12 php-cli, libargon2) called as PostfixAdmin's encrypt
     * settings do: '{ARGON2ID}'.password_hash($p, PASSWORD_ARGON2ID) (PHP's
     * cost t=4 differs from ours: rehash), '{ARGON2I}'.password_hash($p,
     * PASSWORD_ARGON2I), '{BLF-CRYPT}'.password_hash($p, PASSWORD_BCRYPT),
     * crypt($p, '$1$'.substr(sha1(random_bytes(8)), 0, 8)),
     * '{SHA512-CRYPT.B64}'.base64_encode(crypt($p, '$6$'.<16 hex>)),
     * '{SSHA}'.base64_encode(sha1($p.$s, true).$s) with $s = random_bytes(3),
     * '{MD5}'.base64_encode(md5($p, true)) (courier:md5), '{SHA1.HEX}'.sha1($p) */
    {"{ARGON2ID}$argon2id$v=19$m=65536,t=4,p=1$SjNqTTNrSmhyUVRsZ1ZaOQ$FfEEz/2Byhnawx5hsdX0uyCWPd0R"
     "9rR+8JwqPL6KaLs",
     NULL, "ARGON2ID", 1},
    {"{ARGON2I}$argon2i$v=19$m=65536,t=4,p=1$YXo2dzhnZFJYLzA3QTJVLw$kfjmM5YnwE4bw8q/f1Y/fY35YVAU"
     "awk05swxtlj2opU",
     NULL, "ARGON2I", 1},
    {"{BLF-CRYPT}$2y$10$hWTcyz4riziN2W6bo.M35..Xy6gC8IiYJyJiyWxvcPKkNc/2xS66q", NULL, "BLF-CRYPT",
     1},
    {"$1$4e859b2f$6rizobaiJPnT19kg8rP7d.", NULL, "MD5-CRYPT", 1},
    {"{SHA512-CRYPT.B64}JDYkNjIwM2U1ZmY5YjM0YWNmOSRULmtOeE9DazM3YS9icDZRRlYzQXoybWl1RW5wYksvcTBBcn"
     "RudWZWTEh0RXRBckFVcFhqTk5CYTBldW9yaHMuRVU2cFp1OTQwRDlMN0t6dlFHZ0dNMA==",
     NULL, "SHA512-CRYPT", 1},
    {"{SSHA}pauWSsexOFo6fEJRxEtdN+ZSEKJU+pc=", NULL, "SSHA", 1},
    {"{MD5}Ts5XphMjtSzP/b7wIZVnVA==", NULL, "MD5", 1},
    {"{SHA1.HEX}874572e7a5ae6a49466a6ac578b98adba78c6aa6", NULL, "SHA1", 1},

    /* argon2 0~20190702 (Debian 12 reference CLI), stored bare:
     * echo -n 'Tr0ub4dor&3' | argon2 Sluice-test-salt -id -t 2 -k 65536 -p 1 -e
     * (t=2, weaker than ours: rehash) and
     * echo -n 'Tr0ub4dor&3' | argon2 'Sluice-p4-salt!!' -id -t 3 -k 65536 -p 4 -e
     * (four lanes, our t and m: libsodium's needs_rehash looks at t and m only) */
    {"$argon2id$v=19$m=65536,t=2,p=1$U2x1aWNlLXRlc3Qtc2FsdA$ncCe7BA1+2qNZa5RPcbKL0pA2dN+k38ulugVu"
     "aTG+U4",
     NULL, "ARGON2ID", 1},
    {"$argon2id$v=19$m=65536,t=3,p=4$U2x1aWNlLXA0LXNhbHQhIQ$dtcuQ5x8gOJVRnKjze9qr4xAkE+wI/g8+WhfV"
     "mpSc50",
     NULL, "ARGON2ID", 0},
};

/* doveadm pw -s SSHA512 -p "$(python3 -c 'print("0123456789"*100, end="")')" */
static const char long_ssha512[] =
    "{SSHA512}mOkDhH46KLtb6/jrVw2X33bSzcpuPhDo/Lai5wKas5lzQpjqdsv4NaEV6R8UDD49ZK8jEAyfKqAppXLlV2NFL"
    "MpElno=";

/* main() initialises with the defaults once; test_settings puts them back when done. */
static int init_defaults(void)
{
	const char *error = NULL;

	if (password_init(NULL, &error) < 0) {
		fprintf(stderr, "password_init: %s\n", error);
		return -1;
	}
	return 0;
}

static char *repeat(const char *unit, size_t total)
{
	char *s = xmalloc(total + 1);
	size_t ulen = strlen(unit);

	for (size_t i = 0; i < total; i++)
		s[i] = unit[i % ulen];
	s[total] = '\0';
	return s;
}

static const char *result_name(enum password_verify_result r)
{
	switch (r) {
	case PASSWORD_MATCH:
		return "MATCH";
	case PASSWORD_MISMATCH:
		return "MISMATCH";
	case PASSWORD_INVALID_HASH:
		return "INVALID_HASH";
	case PASSWORD_ERROR:
		return "ERROR";
	}
	return "?";
}

static void expect_verify(const char *plain, const char *stored, enum password_verify_result want,
                          int want_rehash)
{
	const char *error = NULL;
	int rehash = -1;
	enum password_verify_result got = password_verify(plain, stored, &rehash, &error);

	ck_assert_msg(got == want, "verify(%.20s..., %s): got %s, want %s (%s)", plain, stored,
	              result_name(got), result_name(want), error == NULL ? "" : error);
	ck_assert_msg(rehash == want_rehash, "verify(%s): needs_rehash got %d, want %d", stored,
	              rehash, want_rehash);
	if (want == PASSWORD_INVALID_HASH || want == PASSWORD_ERROR)
		ck_assert_msg(error != NULL && error[0] != '\0', "no error text for %s", stored);
}

START_TEST(test_vectors)
{
	const struct vector *v = &vectors[_i];
	const char *plain = v->plain != NULL ? v->plain : PW;
	char *wrong = xstrdup(plain);
	char *huge = repeat(plain, 4096);

	/* Alter the first byte: DES crypt reads only the first 8. */
	wrong[0] ^= 0x01;
	expect_verify(plain, v->stored, PASSWORD_MATCH, v->rehash);
	expect_verify(wrong, v->stored, PASSWORD_MISMATCH, 0);
	expect_verify("", v->stored, PASSWORD_MISMATCH, 0);
	expect_verify(huge, v->stored, PASSWORD_MISMATCH, 0);
	ck_assert_msg(strcmp(password_scheme_name(v->stored), v->name) == 0,
	              "scheme_name(%s): got %s, want %s", v->stored,
	              password_scheme_name(v->stored), v->name);
	/* needs_rehash_r may be NULL. */
	ck_assert_int_eq(password_verify(plain, v->stored, NULL, &(const char *){NULL}),
	                 PASSWORD_MATCH);
	free(wrong);
	free(huge);
}
END_TEST

/* Every cut of every vector, and every vector with one byte altered: never a match. */
START_TEST(test_cut_and_altered)
{
	const struct vector *v = &vectors[_i];
	const char *plain = v->plain != NULL ? v->plain : PW;
	size_t len = strlen(v->stored);
	int is_argon2 = strstr(v->stored, "$argon2") != NULL;
	char *copy;

	/* argon2 costs 0.1 s a try: cut those at the end and every 32nd place. */
	for (size_t cut = 0; cut < len; cut++) {
		const char *error = NULL;
		enum password_verify_result r;

		if (is_argon2 && cut % 32 != 0 && cut < len - 2)
			continue;
		/* Base64 without its '=' padding is the same data, and read as such. */
		if (strspn(v->stored + cut, "=") == len - cut)
			continue;
		copy = xstrndup(v->stored, cut);
		r = password_verify(plain, copy, NULL, &error);
		ck_assert_msg(r == PASSWORD_MISMATCH || r == PASSWORD_INVALID_HASH,
		              "cut %zu of %s: got %s", cut, v->stored, result_name(r));
		free(copy);
	}
	for (size_t i = 0; i < len; i++) {
		const char *error = NULL;
		enum password_verify_result r;

		if (is_argon2 && i % 16 != 0)
			continue;
		copy = xstrdup(v->stored);
		copy[i] ^= 0x01;
		r = password_verify(plain, copy, NULL, &error);
		ck_assert_msg(r == PASSWORD_MISMATCH || r == PASSWORD_INVALID_HASH,
		              "byte %zu of %s altered: got %s", i, v->stored, result_name(r));
		free(copy);
	}
}
END_TEST

START_TEST(test_hash_round_trip)
{
	const char *error = NULL;
	char *hash = NULL, *hash2 = NULL;
	char *huge = repeat("0123456789abcdef", PASSWORD_PLAIN_MAX);
	char *too_long = repeat("x", PASSWORD_PLAIN_MAX + 1);

	ck_assert_int_eq(password_hash(PW, &hash, &error), 0);
	ck_assert_msg(strncmp(hash, "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$", 41) == 0, "got %s",
	              hash);
	expect_verify(PW, hash, PASSWORD_MATCH, 0);
	expect_verify("Tr0ub4dor&4", hash, PASSWORD_MISMATCH, 0);
	ck_assert_str_eq(password_scheme_name(hash), "ARGON2ID");
	/* A fresh salt each time. */
	ck_assert_int_eq(password_hash(PW, &hash2, &error), 0);
	ck_assert_str_ne(hash, hash2);
	free(hash);
	free(hash2);

	/* UTF-8 and the longest password accepted. */
	ck_assert_int_eq(password_hash(PW_UTF8, &hash, &error), 0);
	expect_verify(PW_UTF8, hash, PASSWORD_MATCH, 0);
	free(hash);
	ck_assert_int_eq(password_hash(huge, &hash, &error), 0);
	expect_verify(huge, hash, PASSWORD_MATCH, 0);
	huge[PASSWORD_PLAIN_MAX - 1] = 'X';
	expect_verify(huge, hash, PASSWORD_MISMATCH, 0);
	free(hash);

	/* Refused: empty, too long. */
	hash = NULL;
	ck_assert_int_eq(password_hash("", &hash, &error), -1);
	ck_assert_str_eq(error, "empty password");
	ck_assert_int_eq(password_hash(too_long, &hash, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "longer than"));
	ck_assert_ptr_null(hash);
	free(huge);
	free(too_long);
}
END_TEST

START_TEST(test_long_passwords)
{
	char *long_pw = repeat("0123456789", 1000);
	char *hash;
	const char *error = NULL;

	/* Beyond crypt's 512 bytes but within ours: salted digests take it. */
	expect_verify(long_pw, long_ssha512, PASSWORD_MATCH, 1);
	long_pw[999] = 'x';
	expect_verify(long_pw, long_ssha512, PASSWORD_MISMATCH, 0);
	/* libxcrypt refuses > 512 bytes (doveadm writes "*0"): no crypt hash can match. */
	expect_verify(long_pw,
	              "$6$pyuxATkSdLbf2vfz$kC4Rplt0RrGbINMTsBD/ledz1RLPRDS7mSHi9X5H8KzZ3he1"
	              "gop1AHmqzpn0dzHwDsxTM9buugY4luAD9OZi8/",
	              PASSWORD_MISMATCH, 0);
	/* A {PLAIN} row that long is beyond the stored bound; 400 bytes is not. */
	hash = xasprintf("{PLAIN}%s", long_pw);
	ck_assert_int_eq(password_verify(long_pw, hash, NULL, &error), PASSWORD_INVALID_HASH);
	free(hash);
	long_pw[400] = '\0';
	hash = xasprintf("{PLAIN}%s", long_pw);
	expect_verify(long_pw, hash, PASSWORD_MATCH, 1);
	free(hash);
	free(long_pw);
}
END_TEST

START_TEST(test_malformed)
{
	static const char *const bad[] = {
	    "",
	    "{",
	    "{}",
	    "{}x",
	    "{SSHA512",
	    "{NOSUCH}abc",
	    "{SSHA512.rot13}abc",
	    "{SHA512-CRYPT}",
	    "{SHA512-CRYPT}$7$abc",
	    "{CRYPT}*0",
	    "{CRYPT}!",
	    "{ARGON2ID}",
	    "{ARGON2ID}$argon2id$",
	    "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$",
	    "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$",
	    "{ARGON2ID}$argon2id$v=19$m=,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
	    "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g$",
	    "{ARGON2ID}$argon2id$v=19$m=99999999999,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
	    "{ARGON2ID}$argon2id$v=19$m=0,t=0,p=0$c2FsdHNhbHQ$aGFzaGhhc2g",
	    /* Forms libsodium does not read: version 1.0 or none, short salt or hash,
	     * base64 with stray bits, m below 8 KiB per lane. */
	    "$argon2id$v=16$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0$"
	    "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
	    "$argon2id$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
	    "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
	    "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0$aGFz",
	    "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0$"
	    "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaB",
	    "$argon2id$v=19$m=31,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
	    "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0=$"
	    "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
	    "$argon2d$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
	    "{ARGON2ID}$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$"
	    "nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
	    /* Costs beyond the bounds: 4 GiB, t=1000, 8 GiB-passes, p=255. */
	    "$argon2id$v=19$m=4194304,t=3,p=1$c2FsdHNhbHRzYWx0$"
	    "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
	    "$argon2id$v=19$m=65536,t=1000,p=1$c2FsdHNhbHRzYWx0$"
	    "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
	    "$argon2id$v=19$m=1048576,t=8,p=1$c2FsdHNhbHRzYWx0$"
	    "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
	    "$argon2id$v=19$m=65536,t=3,p=255$c2FsdHNhbHRzYWx0$"
	    "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
	    "$6$rounds=999999999$BHyH.KNysSNyYcKH$GJT0jTxcwj7OogHCgK4dig/4EwxvFo/"
	    "VpJ9aTPHSzUhImWnB67l."
	    "fno2WG5GwdOjO8GnbxGKjVM3qGPW4JLyk.",
	    "$2y$31$iizdq6CMSuKfkJjKGtIBVO35VZ6vD0ioULYjk14vJ/lE.spdHqmyi",
	    "$2y$5$iizdq6CMSuKfkJjKGtIBVO35VZ6vD0ioULYjk14vJ/lE.spdHqmyi",
	    "$2y$",
	    /* Methods we do not hand to crypt(3): yescrypt (mkpasswd's default), Apache's apr1. */
	    "$y$j9T$u6fFQUniq283DEg5PN6fz/$dXZfzhHTaVmbIgE3ybc8/RahXR3UafnnXjnAJG8cF//",
	    "{CRYPT}$y$j9T$u6fFQUniq283DEg5PN6fz/$dXZfzhHTaVmbIgE3ybc8/RahXR3UafnnXjnAJG8cF//",
	    "$apr1$29eW3E6K$is6sKgrjYLoEiYpVoNUnJ/",
	    /* Digest schemes with bodies of the wrong size or alphabet. */
	    "{SHA256}SEhuFRToQjRv9AWx5F9EBZroJhnyMG+Z0JQNyzhukf",
	    "{SHA256}SEhuFRToQjRv9AWx5F9EBZroJhnyMG+Z0JQNyzhukfc=extra",
	    "{PLAIN-MD5}4ece57a61323b52ccffdbef02195675",
	    "{PLAIN-MD5}4ece57a61323b52ccffdbef02195675g",
	    "{SSHA512}AAAA",
	    "{SSHA.HEX}zz",
	    "{SMD5}",
	    "{MD5}",
	    "{MD5}$1$",
	    "{PLAIN.B64}!!!!",
	    "{PLAIN.HEX}00",
	    /* No prefix and no crypt string; no password_default_scheme. */
	    "4ece57a61323b52ccffdbef021956754",
	    "Tr0ub4dor&3",
	    "k6iXFmfdduYfU",
	};
	char *huge_stored = repeat("{SSHA512}AAAA", PASSWORD_STORED_MAX + 1);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		expect_verify(PW, bad[i], PASSWORD_INVALID_HASH, 0);
		expect_verify("", bad[i], PASSWORD_INVALID_HASH, 0);
		(void)password_scheme_name(bad[i]);
	}
	expect_verify(PW, huge_stored, PASSWORD_INVALID_HASH, 0);
	expect_verify(PW, NULL, PASSWORD_INVALID_HASH, 0);
	ck_assert_str_eq(password_scheme_name(NULL), "UNKNOWN");
	ck_assert_str_eq(password_scheme_name("{NOSUCH}x"), "UNKNOWN");
	ck_assert_str_eq(password_scheme_name("4ece57a61323b52ccffdbef021956754"), "UNKNOWN");
	ck_assert_str_eq(password_scheme_name(huge_stored), "UNKNOWN");
	free(huge_stored);
}
END_TEST

/* Dovecot's prefixes ignore case, suffixes too; costs within the bounds verify. */
START_TEST(test_prefix_forms)
{
	expect_verify(PW,
	              "{ssha512}ppwYOI5BszDOOImZud+48m4tm46u0tMOlqELnjs15Wk6zupkp6vwm48G9imM93bP"
	              "578Bwq75jqlDttyy/CRxXwCeiUw=",
	              PASSWORD_MATCH, 1);
	expect_verify(
	    PW, "{Sha256.hex}48486e1514e842346ff405b1e45f44059ae82619f2306f99d0940dcb386e91f7",
	    PASSWORD_MATCH, 1);
	expect_verify(PW, "{plain-md5.BASE64}Ts5XphMjtSzP/b7wIZVnVA==", PASSWORD_MATCH, 1);
	/* Unsalted digests read hex and base64 whatever the suffix, as Dovecot does. */
	expect_verify(PW, "{PLAIN-MD5}Ts5XphMjtSzP/b7wIZVnVA==", PASSWORD_MATCH, 1);
	expect_verify(PW,
	              "{SHA256}48486e1514e842346ff405b1e45f44059ae82619f2306f99d0940dcb386e91f7",
	              PASSWORD_MATCH, 1);
	/* Base64 without its padding. */
	expect_verify(PW, "{LDAP-MD5}Ts5XphMjtSzP/b7wIZVnVA", PASSWORD_MATCH, 1);
	/* {MD5} as hex of the digest. */
	expect_verify(PW, "{MD5}4ece57a61323b52ccffdbef021956754", PASSWORD_MATCH, 1);
	/* An argon2 string under the other argon2 prefix: libsodium reads its own prefix. */
	expect_verify(PW,
	              "{ARGON2I}$argon2id$v=19$m=65536,t=3,p=1$V5tRmbgvy8AgELlYNvrAzw$SlOEXJuXlrIu"
	              "pCwte+56vmSwNGFbbUzTTFyTG4OtUGY",
	              PASSWORD_MATCH, 0);
	/* A {PLAIN} password that is empty never matches, nor does the empty password. */
	expect_verify("", "{PLAIN}", PASSWORD_MISMATCH, 0);
	expect_verify("x", "{PLAIN}", PASSWORD_MISMATCH, 0);
}
END_TEST

static struct config *load_conf(const char *text, const char **error_r)
{
	char path[] = "/tmp/sluice-test-password-XXXXXX";
	struct config *cfg = NULL;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	if (config_load(path, 0, &cfg, error_r) < 0)
		cfg = NULL;
	unlink(path);
	return cfg;
}

START_TEST(test_settings)
{
	const char *error = NULL;
	struct config *cfg = config_defaults();
	char *hash;

	/* The table's defaults are the header's. */
	ck_assert_int_eq(config_int(cfg, "password_argon2_opslimit"),
	                 PASSWORD_ARGON2_OPSLIMIT_DEFAULT);
	ck_assert_int_eq(config_size(cfg, "password_argon2_memlimit"),
	                 (int64_t)PASSWORD_ARGON2_MEMLIMIT_DEFAULT);
	ck_assert_str_eq(config_str(cfg, "password_default_scheme"), "");
	ck_assert_int_eq(password_init(cfg, &error), 0);
	config_free(&cfg);

	/* Cheaper settings: new hashes carry them; our old-cost hashes want a rehash. */
	cfg = load_conf("password_argon2_opslimit = 2\npassword_argon2_memlimit = 16M\n"
	                "password_default_scheme = PLAIN-MD5\n",
	                &error);
	ck_assert_msg(cfg != NULL, "%s", error);
	ck_assert_int_eq(password_init(cfg, &error), 0);
	config_free(&cfg);
	ck_assert_int_eq(password_hash(PW, &hash, &error), 0);
	ck_assert_msg(strncmp(hash, "{ARGON2ID}$argon2id$v=19$m=16384,t=2,p=1$", 41) == 0, "got %s",
	              hash);
	expect_verify(PW, hash, PASSWORD_MATCH, 0);
	free(hash);
	expect_verify(PW, vectors[1].stored, PASSWORD_MATCH, 1);
	/* PostfixAdmin encrypt=md5 stores bare hex MD5: read as the default scheme. */
	expect_verify(PW, "4ece57a61323b52ccffdbef021956754", PASSWORD_MATCH, 1);
	expect_verify("Tr0ub4dor&4", "4ece57a61323b52ccffdbef021956754", PASSWORD_MISMATCH, 0);
	ck_assert_str_eq(password_scheme_name("4ece57a61323b52ccffdbef021956754"), "PLAIN-MD5");
	/* Crypt strings are still crypt strings. */
	expect_verify(PW, "$1$oBfJxP2u$ewutnhLBDV3MNekomXK14.", PASSWORD_MATCH, 1);

	/* PostfixAdmin encrypt=cleartext stores bare passwords. */
	cfg = load_conf("password_default_scheme = plain\n", &error);
	ck_assert_int_eq(password_init(cfg, &error), 0);
	config_free(&cfg);
	expect_verify(PW, PW, PASSWORD_MATCH, 1);
	expect_verify("Tr0ub4dor&", PW, PASSWORD_MISMATCH, 0);

	/* Bad values. */
	cfg = load_conf("password_default_scheme = ROT13\n", &error);
	ck_assert_int_eq(password_init(cfg, &error), -1);
	ck_assert_msg(strstr(error, "password_default_scheme = ROT13: unknown password scheme") !=
	                  NULL,
	              "got %s", error);
	config_free(&cfg);
	cfg = load_conf("password_argon2_opslimit = 32\npassword_argon2_memlimit = 1G\n", &error);
	ck_assert_int_eq(password_init(cfg, &error), -1);
	ck_assert_msg(strstr(error, "beyond the verification bounds") != NULL, "got %s", error);
	config_free(&cfg);
	ck_assert_ptr_null(load_conf("password_argon2_memlimit = 1M\n", &error));
	ck_assert_int_eq(init_defaults(), 0);
}
END_TEST

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The dummy costs about what verifying one of our hashes costs (best of 3 each). */
START_TEST(test_dummy_timing)
{
	const char *error = NULL;
	char *hash;
	double real = 1e9, dummy = 1e9;

	ck_assert_int_eq(password_hash(PW, &hash, &error), 0);
	for (int i = 0; i < 3; i++) {
		double t0 = seconds(), t1, t2;

		ck_assert_int_eq(password_verify("wrong", hash, NULL, &error), PASSWORD_MISMATCH);
		t1 = seconds();
		password_verify_dummy("wrong");
		t2 = seconds();
		real = t1 - t0 < real ? t1 - t0 : real;
		dummy = t2 - t1 < dummy ? t2 - t1 : dummy;
	}
	ck_assert_msg(dummy > real / 3 && dummy < real * 3, "dummy %.3f s, real %.3f s", dummy,
	              real);
	password_verify_dummy(NULL);
	free(hash);
}
END_TEST

int main(void)
{
	Suite *s;
	TCase *tc;
	SRunner *sr;
	int failed;

	if (init_defaults() < 0)
		return EXIT_FAILURE;
	s = suite_create("password");
	tc = tcase_create("core");
	tcase_set_timeout(tc, 110);
	tcase_add_loop_test(tc, test_vectors, 0, (int)ARRAY_SIZE(vectors));
	tcase_add_loop_test(tc, test_cut_and_altered, 0, (int)ARRAY_SIZE(vectors));
	tcase_add_test(tc, test_hash_round_trip);
	tcase_add_test(tc, test_long_passwords);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_prefix_forms);
	tcase_add_test(tc, test_settings);
	tcase_add_test(tc, test_dummy_timing);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
