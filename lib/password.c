/*
 * password.c: password hashing (argon2id, libsodium) and verification of the
 * schemes that PostfixAdmin and Dovecot databases hold (see password.h).
 *
 * Nothing here is written by hand that a library does: argon2 is libsodium,
 * the crypt(3) family is libxcrypt's crypt_rn(), digests are OpenSSL EVP,
 * base64/hex decoding is libsodium's. This file owns the scheme table, the
 * parsing of "{SCHEME.enc}body" and the bounds put on stored strings, which
 * come from the database and are treated as untrusted: every length and every
 * cost parameter is checked before a library is asked to work on it. Secrets
 * (plaintext decoded from {PLAIN.b64}, crypt's work area, digests of the
 * password) are wiped after use. Global state is written by password_init()
 * only, before threads start.
 */
#include "password.h"
#include "config.h"
#include "log.h"
#include "util.h"

#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Longest "SCHEME.enc" between the braces of a prefix. */
#define SCHEME_PREFIX_MAX 32

enum scheme_kind {
	KIND_ARGON2, /* "$argon2id$..." / "$argon2i$...": libsodium */
	KIND_CRYPT,  /* a crypt(3) string: libxcrypt */
	KIND_MD5,    /* {MD5}: Dovecot's MD5-CRYPT alias, or Courier's base64 MD5 */
	KIND_DIGEST, /* unsalted digest of the password */
	KIND_SALTED, /* digest(password || salt) || salt */
	KIND_PLAIN,  /* the password itself */
};

enum encoding { ENC_NONE, ENC_HEX, ENC_BASE64 };

struct scheme {
	const char *prefix; /* between the braces, compared ignoring case */
	const char *name;   /* canonical name, for logs */
	enum scheme_kind kind;
	enum encoding encoding; /* of the text after the prefix, unless a suffix says */
	const EVP_MD *(*md)(void);
};

static const struct scheme schemes[] = {
    {"ARGON2ID", "ARGON2ID", KIND_ARGON2, ENC_NONE, NULL},
    {"ARGON2I", "ARGON2I", KIND_ARGON2, ENC_NONE, NULL},
    {"SHA512-CRYPT", "SHA512-CRYPT", KIND_CRYPT, ENC_NONE, NULL},
    {"SHA256-CRYPT", "SHA256-CRYPT", KIND_CRYPT, ENC_NONE, NULL},
    {"BLF-CRYPT", "BLF-CRYPT", KIND_CRYPT, ENC_NONE, NULL},
    {"MD5-CRYPT", "MD5-CRYPT", KIND_CRYPT, ENC_NONE, NULL},
    {"DES-CRYPT", "DES-CRYPT", KIND_CRYPT, ENC_NONE, NULL},
    {"CRYPT", "CRYPT", KIND_CRYPT, ENC_NONE, NULL},
    {"MD5", "MD5", KIND_MD5, ENC_BASE64, EVP_md5},
    {"PLAIN-MD5", "PLAIN-MD5", KIND_DIGEST, ENC_HEX, EVP_md5},
    {"LDAP-MD5", "LDAP-MD5", KIND_DIGEST, ENC_BASE64, EVP_md5},
    {"SHA", "SHA1", KIND_DIGEST, ENC_BASE64, EVP_sha1},
    {"SHA1", "SHA1", KIND_DIGEST, ENC_BASE64, EVP_sha1},
    {"SHA256", "SHA256", KIND_DIGEST, ENC_BASE64, EVP_sha256},
    {"SHA512", "SHA512", KIND_DIGEST, ENC_BASE64, EVP_sha512},
    {"SMD5", "SMD5", KIND_SALTED, ENC_BASE64, EVP_md5},
    {"SSHA", "SSHA", KIND_SALTED, ENC_BASE64, EVP_sha1},
    {"SSHA256", "SSHA256", KIND_SALTED, ENC_BASE64, EVP_sha256},
    {"SSHA512", "SSHA512", KIND_SALTED, ENC_BASE64, EVP_sha512},
    {"PLAIN", "PLAIN", KIND_PLAIN, ENC_NONE, NULL},
    {"CLEAR", "PLAIN", KIND_PLAIN, ENC_NONE, NULL},
    {"CLEARTEXT", "PLAIN", KIND_PLAIN, ENC_NONE, NULL},
};

/* The crypt(3) methods we hand to libxcrypt; others (yescrypt, ...) are refused. */
static const struct crypt_method {
	const char *prefix;
	const char *name;
} crypt_methods[] = {
    {"$1$", "MD5-CRYPT"},  {"$5$", "SHA256-CRYPT"}, {"$6$", "SHA512-CRYPT"},
    {"$2a$", "BLF-CRYPT"}, {"$2b$", "BLF-CRYPT"},   {"$2y$", "BLF-CRYPT"},
};

/* A stored string split into its scheme, the encoding of its body, and the body. */
struct parsed {
	const struct scheme *scheme;
	enum encoding encoding;
	const char *body;
	size_t body_len;
};

/* Written by password_init() alone, before threads start. */
static struct {
	int initialized;
	unsigned long long opslimit;
	size_t memlimit;
	const struct scheme *default_scheme; /* for bare strings; NULL: none */
	enum encoding default_encoding;
	char dummy_hash[crypto_pwhash_STRBYTES];
} pw;

static int starts_with(const char *s, size_t len, const char *prefix)
{
	size_t plen = strlen(prefix);
	return len >= plen && memcmp(s, prefix, plen) == 0;
}

static const struct scheme *scheme_by_prefix(const char *prefix)
{
	for (size_t i = 0; i < ARRAY_SIZE(schemes); i++)
		if (strcmp(schemes[i].prefix, prefix) == 0)
			return &schemes[i];
	log_panic("password scheme %s missing from the table", prefix);
}

/* Parse "NAME" or "NAME.b64" / ".base64" / ".hex", case-insensitively (Dovecot's suffixes). */
static int scheme_lookup(const char *name, size_t len, const struct scheme **scheme_r,
                         enum encoding *encoding_r, const char **error_r)
{
	const char *dot = memrchr(name, '.', len);
	size_t name_len = dot == NULL ? len : (size_t)(dot - name);
	int have_suffix = dot != NULL;
	enum encoding enc = ENC_NONE;

	if (have_suffix) {
		const char *sfx = dot + 1;
		size_t sfx_len = len - name_len - 1;

		if (ascii_strncaseeq(sfx, sfx_len, "b64") ||
		    ascii_strncaseeq(sfx, sfx_len, "base64"))
			enc = ENC_BASE64;
		else if (ascii_strncaseeq(sfx, sfx_len, "hex"))
			enc = ENC_HEX;
		else {
			*error_r = "unknown encoding suffix in the {SCHEME} prefix";
			return -1;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(schemes); i++) {
		if (ascii_strncaseeq(name, name_len, schemes[i].prefix)) {
			*scheme_r = &schemes[i];
			*encoding_r = have_suffix ? enc : schemes[i].encoding;
			return 0;
		}
	}
	*error_r = "unknown password scheme";
	return -1;
}

static const struct crypt_method *crypt_method_of(const char *s, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(crypt_methods); i++)
		if (starts_with(s, len, crypt_methods[i].prefix))
			return &crypt_methods[i];
	return NULL;
}

/* Traditional DES crypt: 2 salt and 11 hash characters of crypt's alphabet. */
static int is_des_crypt(const char *s, size_t len)
{
	if (len != 13)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (strchr("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
		           s[i]) == NULL)
			return 0;
	return 1;
}

/* Split a stored string; bare strings are argon2 or crypt strings, or the default scheme. */
static int parse_stored(const char *stored, size_t len, struct parsed *p, const char **error_r)
{
	if (len > 0 && stored[0] == '{') {
		size_t look = len - 1 < SCHEME_PREFIX_MAX + 1 ? len - 1 : SCHEME_PREFIX_MAX + 1;
		const char *close = memchr(stored + 1, '}', look);

		if (close == NULL) {
			*error_r = "stored hash has an unterminated {SCHEME} prefix";
			return -1;
		}
		if (scheme_lookup(stored + 1, (size_t)(close - stored - 1), &p->scheme,
		                  &p->encoding, error_r) < 0)
			return -1;
		p->body = close + 1;
		p->body_len = len - (size_t)(p->body - stored);
		return 0;
	}
	p->body = stored;
	p->body_len = len;
	p->encoding = ENC_NONE;
	if (starts_with(stored, len, "$argon2id$")) {
		p->scheme = scheme_by_prefix("ARGON2ID");
		return 0;
	}
	if (starts_with(stored, len, "$argon2i$")) {
		p->scheme = scheme_by_prefix("ARGON2I");
		return 0;
	}
	if (crypt_method_of(stored, len) != NULL) {
		p->scheme = scheme_by_prefix("CRYPT");
		return 0;
	}
	if (pw.default_scheme != NULL) {
		p->scheme = pw.default_scheme;
		p->encoding = pw.default_encoding;
		return 0;
	}
	*error_r = "stored hash has no {SCHEME} prefix and is no known crypt string "
	           "(password_default_scheme is not set)";
	return -1;
}

/* Decode hex or base64 (padded or not) into out; -1 unless all of the input is used. */
static int decode(enum encoding enc, const char *in, size_t len, unsigned char *out, size_t cap,
                  size_t *out_len_r)
{
	const char *end = NULL;

	if (enc == ENC_HEX) {
		if (len % 2 != 0)
			return -1;
		return sodium_hex2bin(out, cap, in, len, NULL, out_len_r, &end) == 0 &&
		               end == in + len
		           ? 0
		           : -1;
	}
	if (sodium_base642bin(out, cap, in, len, NULL, out_len_r, &end,
	                      sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    end == in + len)
		return 0;
	if (sodium_base642bin(out, cap, in, len, NULL, out_len_r, &end,
	                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0 &&
	    end == in + len)
		return 0;
	return -1;
}

/* Whether a password can match at all: never "", never beyond our bound. */
static int plain_acceptable(size_t plain_len)
{
	return plain_len > 0 && plain_len <= PASSWORD_PLAIN_MAX;
}

/* A decimal number of at most 10 digits at *sp, which moves past it. */
static int parse_number(const char **sp, const char *end, unsigned long long *value_r)
{
	const char *s = *sp;
	unsigned long long v = 0;
	int digits = 0;

	while (s < end && *s >= '0' && *s <= '9' && digits < 10) {
		v = v * 10 + (unsigned long long)(*s - '0');
		s++;
		digits++;
	}
	if (digits == 0 || (s < end && *s >= '0' && *s <= '9'))
		return -1;
	*sp = s;
	*value_r = v;
	return 0;
}

static int expect(const char **sp, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *sp) < n || memcmp(*sp, lit, n) != 0)
		return -1;
	*sp += n;
	return 0;
}

/* An unpadded base64 field of argon2 strings, decoding to at least min_len bytes. */
static int argon2_b64_field(const char **sp, const char *end, size_t min_len)
{
	unsigned char bin[crypto_pwhash_STRBYTES];
	const char *s = *sp, *b64_end = NULL;
	size_t bin_len;

	while (s < end && *s != '$')
		s++;
	if (sodium_base642bin(bin, sizeof(bin), *sp, (size_t)(s - *sp), NULL, &bin_len, &b64_end,
	                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
	    b64_end != s || bin_len < min_len)
		return -1;
	*sp = s;
	return 0;
}

/*
 * Check the form "$argon2id$v=19$m=M,t=T,p=P$salt$hash" as libsodium reads it
 * (version 1.3 only, salt >= 8 bytes, hash >= 16 bytes, m >= 8 KiB per lane),
 * so that a failed verification afterwards means a wrong password; and check
 * the costs against our bounds before libsodium allocates anything.
 */
static int argon2_check(const char *s, size_t len, int *is_id_r, const char **error_r)
{
	const char *p = s, *end = s + len;
	unsigned long long m, t, lanes;

	if (len >= crypto_pwhash_STRBYTES) {
		*error_r = "argon2 hash longer than libsodium reads";
		return -1;
	}
	*is_id_r = expect(&p, end, "$argon2id$") == 0;
	if (!*is_id_r && expect(&p, end, "$argon2i$") < 0) {
		*error_r = "stored hash is no argon2i/argon2id string";
		return -1;
	}
	if (expect(&p, end, "v=19$m=") < 0 || parse_number(&p, end, &m) < 0 ||
	    expect(&p, end, ",t=") < 0 || parse_number(&p, end, &t) < 0 ||
	    expect(&p, end, ",p=") < 0 || parse_number(&p, end, &lanes) < 0 ||
	    expect(&p, end, "$") < 0 || argon2_b64_field(&p, end, 8) < 0 ||
	    expect(&p, end, "$") < 0 || argon2_b64_field(&p, end, 16) < 0 || p != end || t < 1 ||
	    lanes < 1 || m < 8 * lanes) {
		*error_r = "malformed argon2 hash";
		return -1;
	}
	if (m > PASSWORD_ARGON2_VERIFY_MEM_MAX / 1024 || t > PASSWORD_ARGON2_VERIFY_OPS_MAX ||
	    lanes > PASSWORD_ARGON2_VERIFY_LANES_MAX ||
	    m * 1024 * t > PASSWORD_ARGON2_VERIFY_WORK_MAX) {
		*error_r = errorf("argon2 hash costs m=%llu KiB, t=%llu, p=%llu exceed the "
		                  "verification bounds",
		                  m, t, lanes);
		return -1;
	}
	return 0;
}

static enum password_verify_result verify_argon2(const char *plain, size_t plain_len,
                                                 const char *text, size_t text_len, int *rehash_r,
                                                 const char **error_r)
{
	char buf[crypto_pwhash_STRBYTES];
	int is_id, ret;

	if (argon2_check(text, text_len, &is_id, error_r) < 0)
		return PASSWORD_INVALID_HASH;
	if (!plain_acceptable(plain_len))
		return PASSWORD_MISMATCH;
	/* libsodium's prototype takes a STRBYTES array: give it one. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, text, text_len);
	errno = 0;
	ret = is_id ? crypto_pwhash_argon2id_str_verify(buf, plain, plain_len)
	            : crypto_pwhash_argon2i_str_verify(buf, plain, plain_len);
	if (ret == 0) {
		*rehash_r = !is_id || crypto_pwhash_argon2id_str_needs_rehash(buf, pw.opslimit,
		                                                              pw.memlimit) != 0;
		return PASSWORD_MATCH;
	}
	/* The form was checked above: a failure is a wrong password, or no memory. */
	if (errno == ENOMEM) {
		*error_r = "out of memory verifying an argon2 hash";
		return PASSWORD_ERROR;
	}
	return PASSWORD_MISMATCH;
}

/* Refuse crypt costs beyond our bounds: "rounds=N" of $5$/$6$, the cost of $2?$. */
static int crypt_cost_check(const char *s, size_t len, const char **error_r)
{
	const char *p = s + 3, *end = s + len;
	unsigned long long v;

	if ((starts_with(s, len, "$5$") || starts_with(s, len, "$6$")) &&
	    expect(&p, end, "rounds=") == 0) {
		if (parse_number(&p, end, &v) < 0 || v > PASSWORD_CRYPT_ROUNDS_MAX) {
			*error_r = errorf("crypt rounds beyond the bound of %d",
			                  PASSWORD_CRYPT_ROUNDS_MAX);
			return -1;
		}
	}
	if (starts_with(s, len, "$2")) {
		p = s + 4;
		if (len < 7 || parse_number(&p, end, &v) < 0 || p != s + 6 ||
		    v > PASSWORD_BCRYPT_COST_MAX) {
			*error_r = errorf("bcrypt cost missing or beyond the bound of %d",
			                  PASSWORD_BCRYPT_COST_MAX);
			return -1;
		}
	}
	return 0;
}

static enum password_verify_result verify_crypt(const char *plain, size_t plain_len,
                                                const char *text, size_t text_len,
                                                const char **error_r)
{
	struct crypt_data *cd;
	const char *out;
	enum password_verify_result result;
	int acceptable;

	if (crypt_method_of(text, text_len) == NULL && !is_des_crypt(text, text_len)) {
		*error_r = "unsupported crypt(3) method in stored hash";
		return PASSWORD_INVALID_HASH;
	}
	if (crypt_cost_check(text, text_len, error_r) < 0)
		return PASSWORD_INVALID_HASH;
	/*
	 * libxcrypt refuses longer passphrases, so no stored crypt hash can be of
	 * one. For those and "", hash "" all the same: it checks the stored string.
	 */
	acceptable = plain_acceptable(plain_len) && plain_len < CRYPT_MAX_PASSPHRASE_SIZE;

	cd = xcalloc(1, sizeof(*cd));
	errno = 0;
	out = crypt_rn(acceptable ? plain : "", text, cd, sizeof(*cd));
	if (out == NULL) {
		result = errno == ENOMEM ? PASSWORD_ERROR : PASSWORD_INVALID_HASH;
		*error_r = errno == ENOMEM ? "out of memory in crypt(3)"
		                           : "crypt(3) refuses the stored hash's settings";
	} else if (strlen(out) != text_len) {
		/* The length follows from the settings alone: the stored hash is cut or padded. */
		result = PASSWORD_INVALID_HASH;
		*error_r = "stored crypt hash is not of the length its settings give";
	} else {
		result = CRYPTO_memcmp(out, text, text_len) == 0 && acceptable ? PASSWORD_MATCH
		                                                               : PASSWORD_MISMATCH;
	}
	sodium_memzero(cd, sizeof(*cd));
	free(cd);
	return result;
}

/* Digest of plain || salt into out (EVP_MAX_MD_SIZE bytes). */
static int digest(const EVP_MD *md, const char *plain, size_t plain_len, const unsigned char *salt,
                  size_t salt_len, unsigned char *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int out_len;
	int ok;

	if (ctx == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
	     EVP_DigestUpdate(ctx, plain, plain_len) == 1 &&
	     EVP_DigestUpdate(ctx, salt, salt_len) == 1 &&
	     EVP_DigestFinal_ex(ctx, out, &out_len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/*
 * Unsalted digests: the encoding the prefix names, else the other one when
 * that gives the digest's size (Dovecot reads both; hex and base64 of one
 * digest size never have the same length). Salted: digest || salt.
 */
static enum password_verify_result verify_digest(const struct scheme *scheme, enum encoding enc,
                                                 const char *plain, size_t plain_len,
                                                 const char *body, size_t body_len,
                                                 const char **error_r)
{
	const EVP_MD *md = scheme->md();
	size_t dlen = (size_t)EVP_MD_get_size(md);
	unsigned char raw[PASSWORD_STORED_MAX], out[EVP_MAX_MD_SIZE];
	size_t raw_len = 0;
	int ok;

	if (scheme->kind == KIND_SALTED) {
		ok =
		    decode(enc, body, body_len, raw, sizeof(raw), &raw_len) == 0 && raw_len >= dlen;
	} else {
		enum encoding other = enc == ENC_HEX ? ENC_BASE64 : ENC_HEX;

		ok = (decode(enc, body, body_len, raw, sizeof(raw), &raw_len) == 0 &&
		      raw_len == dlen) ||
		     (decode(other, body, body_len, raw, sizeof(raw), &raw_len) == 0 &&
		      raw_len == dlen);
	}
	if (!ok) {
		*error_r = errorf("malformed {%s} hash: not the encoded digest%s", scheme->name,
		                  scheme->kind == KIND_SALTED ? " and salt" : "");
		return PASSWORD_INVALID_HASH;
	}
	if (!plain_acceptable(plain_len))
		return PASSWORD_MISMATCH;
	if (digest(md, plain, plain_len, raw + dlen, raw_len - dlen, out) < 0) {
		*error_r = "OpenSSL digest failed";
		return PASSWORD_ERROR;
	}
	ok = CRYPTO_memcmp(out, raw, dlen) == 0;
	sodium_memzero(out, sizeof(out));
	return ok ? PASSWORD_MATCH : PASSWORD_MISMATCH;
}

/* Compare digests of both, so the time does not depend on where they differ nor on length. */
static enum password_verify_result verify_plain(const char *plain, size_t plain_len,
                                                const char *text, size_t text_len,
                                                const char **error_r)
{
	unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
	int ok;

	if (!plain_acceptable(plain_len))
		return PASSWORD_MISMATCH;
	if (digest(EVP_sha256(), plain, plain_len, NULL, 0, a) < 0 ||
	    digest(EVP_sha256(), text, text_len, NULL, 0, b) < 0) {
		*error_r = "OpenSSL digest failed";
		return PASSWORD_ERROR;
	}
	ok = CRYPTO_memcmp(a, b, 32) == 0;
	sodium_memzero(a, sizeof(a));
	sodium_memzero(b, sizeof(b));
	return ok ? PASSWORD_MATCH : PASSWORD_MISMATCH;
}

int password_init(const struct config *cfg, const char **error_r)
{
	unsigned long long ops = PASSWORD_ARGON2_OPSLIMIT_DEFAULT;
	size_t mem = PASSWORD_ARGON2_MEMLIMIT_DEFAULT;
	const char *def = "";
	unsigned char rnd[16];
	char rnd_hex[sizeof(rnd) * 2 + 1];

	if (sodium_init() < 0) {
		*error_r = "libsodium failed to initialise";
		return -1;
	}
	if (cfg != NULL) {
		ops = (unsigned long long)config_int(cfg, "password_argon2_opslimit");
		mem = (size_t)config_size(cfg, "password_argon2_memlimit");
		def = config_str(cfg, "password_default_scheme");
	}
	if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > PASSWORD_ARGON2_VERIFY_OPS_MAX ||
	    mem < crypto_pwhash_MEMLIMIT_MIN || mem > PASSWORD_ARGON2_VERIFY_MEM_MAX ||
	    (unsigned long long)mem * ops > PASSWORD_ARGON2_VERIFY_WORK_MAX) {
		*error_r = errorf("password_argon2_opslimit = %llu with password_argon2_memlimit = "
		                  "%zu: beyond the verification bounds (m*t <= 4 GiB)",
		                  ops, mem);
		return -1;
	}
	pw.opslimit = ops;
	pw.memlimit = mem;
	pw.default_scheme = NULL;
	if (def[0] != '\0' && scheme_lookup(def, strlen(def), &pw.default_scheme,
	                                    &pw.default_encoding, error_r) < 0) {
		*error_r = errorf("password_default_scheme = %s: %s", def, *error_r);
		return -1;
	}
	/* The dummy: a hash of a random password nobody knows, at our own cost. */
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(rnd_hex, sizeof(rnd_hex), rnd, sizeof(rnd));
	if (crypto_pwhash_str(pw.dummy_hash, rnd_hex, strlen(rnd_hex), pw.opslimit, pw.memlimit) !=
	    0) {
		*error_r = "argon2id hashing failed (out of memory?)";
		return -1;
	}
	sodium_memzero(rnd_hex, sizeof(rnd_hex));
	pw.initialized = 1;
	return 0;
}

int password_hash(const char *plain, char **hash_r, const char **error_r)
{
	char out[crypto_pwhash_STRBYTES];
	size_t len = strnlen(plain, PASSWORD_PLAIN_MAX + 1);

	if (!pw.initialized)
		log_panic("password_hash called before password_init");
	if (len == 0) {
		*error_r = "empty password";
		return -1;
	}
	if (len > PASSWORD_PLAIN_MAX) {
		*error_r = errorf("password longer than %d bytes", PASSWORD_PLAIN_MAX);
		return -1;
	}
	if (crypto_pwhash_str(out, plain, len, pw.opslimit, pw.memlimit) != 0) {
		*error_r = "argon2id hashing failed (out of memory?)";
		return -1;
	}
	*hash_r = xasprintf("{ARGON2ID}%s", out);
	return 0;
}

enum password_verify_result password_verify(const char *plain, const char *stored,
                                            int *needs_rehash_r, const char **error_r)
{
	unsigned char decoded[PASSWORD_STORED_MAX + 1];
	size_t plain_len, stored_len, text_len = 0;
	const char *text;
	struct parsed p;
	enum password_verify_result result;
	int rehash = 1;

	if (needs_rehash_r != NULL)
		*needs_rehash_r = 0;
	if (!pw.initialized)
		log_panic("password_verify called before password_init");
	if (stored == NULL) {
		*error_r = "no stored hash";
		return PASSWORD_INVALID_HASH;
	}
	stored_len = strnlen(stored, PASSWORD_STORED_MAX + 1);
	if (stored_len > PASSWORD_STORED_MAX) {
		*error_r = errorf("stored hash longer than %d bytes", PASSWORD_STORED_MAX);
		return PASSWORD_INVALID_HASH;
	}
	plain_len = plain == NULL ? 0 : strnlen(plain, PASSWORD_PLAIN_MAX + 1);
	if (plain == NULL)
		plain = "";
	if (parse_stored(stored, stored_len, &p, error_r) < 0)
		return PASSWORD_INVALID_HASH;

	/* Dovecot's {MD5} is MD5-CRYPT; Courier's is base64 (or hex) of the digest. */
	if (p.scheme->kind == KIND_MD5 && starts_with(p.body, p.body_len, "$1$"))
		p.encoding = ENC_NONE;
	if (p.scheme->kind == KIND_DIGEST || p.scheme->kind == KIND_SALTED ||
	    (p.scheme->kind == KIND_MD5 && p.encoding != ENC_NONE)) {
		result = verify_digest(p.scheme, p.encoding, plain, plain_len, p.body, p.body_len,
		                       error_r);
		goto done;
	}

	/* The rest are text: a crypt or argon2 string, or the password; maybe encoded. */
	text = p.body;
	text_len = p.body_len;
	if (p.encoding != ENC_NONE) {
		if (decode(p.encoding, p.body, p.body_len, decoded, sizeof(decoded) - 1,
		           &text_len) < 0 ||
		    memchr(decoded, '\0', text_len) != NULL) {
			sodium_memzero(decoded, sizeof(decoded));
			*error_r = "stored hash is not validly encoded as its suffix says";
			return PASSWORD_INVALID_HASH;
		}
		decoded[text_len] = '\0';
		text = (const char *)decoded;
	}
	switch (p.scheme->kind) {
	case KIND_ARGON2:
		result = verify_argon2(plain, plain_len, text, text_len, &rehash, error_r);
		break;
	case KIND_PLAIN:
		result = verify_plain(plain, plain_len, text, text_len, error_r);
		break;
	default:
		result = verify_crypt(plain, plain_len, text, text_len, error_r);
		break;
	}
	sodium_memzero(decoded, sizeof(decoded));
done:
	if (result == PASSWORD_MATCH && needs_rehash_r != NULL)
		*needs_rehash_r = rehash;
	return result;
}

void password_verify_dummy(const char *plain)
{
	size_t len = plain == NULL ? 0 : strnlen(plain, PASSWORD_PLAIN_MAX);
	int ret;

	if (!pw.initialized)
		log_panic("password_verify_dummy called before password_init");
	ret = crypto_pwhash_str_verify(pw.dummy_hash, plain == NULL ? "" : plain, len);
	(void)ret;
}

const char *password_scheme_name(const char *stored)
{
	const char *error;
	const struct crypt_method *cm;
	struct parsed p;
	size_t len;

	if (stored == NULL)
		return "UNKNOWN";
	len = strnlen(stored, PASSWORD_STORED_MAX + 1);
	if (len > PASSWORD_STORED_MAX || parse_stored(stored, len, &p, &error) < 0)
		return "UNKNOWN";
	if (p.encoding != ENC_NONE && p.scheme->kind != KIND_MD5)
		return p.scheme->name;
	switch (p.scheme->kind) {
	case KIND_ARGON2:
		return starts_with(p.body, p.body_len, "$argon2id$") ? "ARGON2ID" : "ARGON2I";
	case KIND_CRYPT:
	case KIND_MD5:
		cm = crypt_method_of(p.body, p.body_len);
		if (cm != NULL)
			return cm->name;
		if (p.scheme->kind == KIND_CRYPT && is_des_crypt(p.body, p.body_len))
			return "DES-CRYPT";
		return p.scheme->name;
	default:
		return p.scheme->name;
	}
}
