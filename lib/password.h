/*
 * password.h: hashing new passwords and verifying stored hashes.
 *
 * New hashes are argon2id from libsodium, written "{ARGON2ID}$argon2id$v=19$...".
 * Verification reads the schemes PostfixAdmin and Dovecot databases hold:
 * {ARGON2ID} {ARGON2I} {SHA512-CRYPT} {SHA256-CRYPT} {BLF-CRYPT} {MD5-CRYPT}
 * {CRYPT} {MD5} {SSHA512} {SSHA256} {SSHA} {SMD5} {SHA512} {SHA256} {SHA}
 * {SHA1} {PLAIN-MD5} {LDAP-MD5} {PLAIN} {CLEAR} {CLEARTEXT}, Dovecot's
 * ".b64"/".hex" encoding suffixes, and bare crypt strings ($1$ $5$ $6$ $2y$
 * $argon2id$) as PostfixAdmin stores them. Every stored string is untrusted:
 * lengths and cost parameters are bounded. Comparisons are constant-time.
 * Thread-safe once password_init() has returned.
 */
#ifndef SLUICE_PASSWORD_H
#define SLUICE_PASSWORD_H

struct config;

/* Longest password accepted, in bytes; longer ones never match. */
#define PASSWORD_PLAIN_MAX 4096
/* Longest stored hash read, in bytes; longer ones are invalid. */
#define PASSWORD_STORED_MAX 512

/*
 * argon2id cost of new hashes unless the settings password_argon2_opslimit and
 * password_argon2_memlimit say otherwise: t=3 passes over m=64 MiB, p=1. That
 * is Dovecot's own {ARGON2ID} cost (so its hashes need no rehash) and RFC 9106
 * 4's second recommended option less the parallelism libsodium lacks; about
 * 0.1 s of one core per login, and 64 MiB per verification in progress
 * (authd_hash_workers bounds how many run at once).
 */
#define PASSWORD_ARGON2_OPSLIMIT_DEFAULT 3
#define PASSWORD_ARGON2_MEMLIMIT_DEFAULT (64UL * 1024 * 1024)

/*
 * Cost bounds for stored hashes, so a hostile or mistaken database row cannot
 * make a verification take minutes or gigabytes: argon2 m <= 1 GiB, t <= 32,
 * p <= 16, m*t <= 4 GiB-passes; sha256/sha512-crypt rounds <= 1,000,000;
 * bcrypt cost <= 15. Our own settings must stay within them.
 */
#define PASSWORD_ARGON2_VERIFY_MEM_MAX (1024UL * 1024 * 1024)
#define PASSWORD_ARGON2_VERIFY_OPS_MAX 32
#define PASSWORD_ARGON2_VERIFY_LANES_MAX 16
#define PASSWORD_ARGON2_VERIFY_WORK_MAX (4ULL * 1024 * 1024 * 1024)
#define PASSWORD_CRYPT_ROUNDS_MAX 1000000
#define PASSWORD_BCRYPT_COST_MAX 15

enum password_verify_result {
	PASSWORD_MATCH,
	PASSWORD_MISMATCH,
	/* The stored string is malformed, of an unknown scheme or beyond the cost bounds. */
	PASSWORD_INVALID_HASH,
	/* The environment failed (out of memory): a temporary failure, try later. */
	PASSWORD_ERROR,
};

/*
 * Initialise libsodium, read the settings password_argon2_opslimit,
 * password_argon2_memlimit and password_default_scheme from cfg (NULL: the
 * defaults), and make the hash that password_verify_dummy() checks against.
 * Call once, before any thread starts.
 */
int password_init(const struct config *cfg, const char **error_r);

/* Hash a new password as "{ARGON2ID}$argon2id$..."; free() *hash_r. Refuses "". */
int password_hash(const char *plain, char **hash_r, const char **error_r);

/*
 * Check plain against a stored hash. On PASSWORD_MATCH *needs_rehash_r (may be
 * NULL) is 1 when the caller should store password_hash(plain) instead: any
 * scheme but argon2id, or argon2id with other costs than ours; 0 otherwise and
 * on every other result. error_r says why on INVALID_HASH and ERROR, never
 * quoting the hash. An empty password never matches.
 */
enum password_verify_result password_verify(const char *plain, const char *stored,
                                            int *needs_rehash_r, const char **error_r);

/*
 * Spend the time of verifying an argon2id hash of our cost, for a user who
 * does not exist, so timing does not tell which users exist.
 */
void password_verify_dummy(const char *plain);

/*
 * The scheme of a stored hash for logs ("SHA512-CRYPT", "ARGON2ID", ...);
 * "UNKNOWN" when unrecognised. Never any part of the hash itself.
 */
const char *password_scheme_name(const char *stored);

#endif
