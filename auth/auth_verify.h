/*
 * auth_verify.h: the credential check of sluice-authd: find the mailbox in
 * PostgreSQL, check the password against its stored hash with a bounded
 * number of verifications at once, upgrade a legacy hash, note the login.
 */
#ifndef SLUICE_AUTH_VERIFY_H
#define SLUICE_AUTH_VERIFY_H

#include <stddef.h>
#include <stdint.h>

struct db_pool;
struct mail_address;

struct auth_verify_settings {
	unsigned int hash_workers; /* verifications running at once at most */
	int64_t hash_wait_ms;      /* longest wait for a free worker */
	int rehash_legacy;         /* store argon2id after a login with another scheme */
};

enum auth_verify_result {
	AUTH_VERIFY_OK,
	AUTH_VERIFY_FAIL,
	AUTH_VERIFY_TEMPFAIL,
};

struct auth_verify;

/* The pool is borrowed and must outlive the verifier. */
struct auth_verify *auth_verify_create(struct db_pool *pool,
                                       const struct auth_verify_settings *set);
void auth_verify_destroy(struct auth_verify **verify);

/*
 * Check a login. user is the parsed login name (domain normalized to an
 * A-label), password is NUL-terminated. On OK *canonical_r is the mailbox
 * address as the database holds it (heap, free() it). On FAIL and TEMPFAIL
 * *reason_r is a short static reason for the log ("password mismatch",
 * "mailbox inactive", "database unavailable", ...); details of environment
 * failures are logged here. Never logs the password or any hash.
 */
enum auth_verify_result auth_verify_login(struct auth_verify *verify,
                                          const struct mail_address *user, const char *password,
                                          size_t password_len, char **canonical_r,
                                          const char **reason_r);

#endif
