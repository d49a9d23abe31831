/*
 * auth_penalty.h: the brute-force penalty of sluice-authd, one table shared by
 * every protocol (docs/auth-protocol.md, "Penalties").
 *
 * After the n-th counted failure for a client IP (IPv6: its /64) or for a user,
 * no answer for that IP or user is given before last failure + penalty(n),
 * penalty(n) = initial * 2^(n-1) capped at max. A failure with a password
 * already tried for that key (remembered as a keyed 64-bit hash, never the
 * password) refreshes the time but does not raise n. A success clears the IP
 * and the user. Entries are forgotten `expire` after their last failure, and
 * the table holds at most max_entries (the least recently failed go first).
 * Thread-safe; time is passed in (monotonic ms) so tests need no sleeping.
 */
#ifndef SLUICE_AUTH_PENALTY_H
#define SLUICE_AUTH_PENALTY_H

#include <stddef.h>
#include <stdint.h>

/* Wrong passwords remembered per IP and per user. */
#define AUTH_PENALTY_REMEMBERED 8

struct auth_penalty_settings {
	int64_t initial_ms;
	int64_t max_ms;
	int64_t expire_ms;
	unsigned int max_entries;
};

struct auth_penalty;

struct auth_penalty *auth_penalty_create(const struct auth_penalty_settings *set);
void auth_penalty_destroy(struct auth_penalty **penalty);
/* Change the delays and expiry (SIGHUP); the table size stays as created. */
void auth_penalty_set_timing(struct auth_penalty *penalty, const struct auth_penalty_settings *set);

/*
 * The monotonic time (ms) before which a request from ip (canonical text, ""
 * when local) for user (normalized) may not be answered: the later of the IP's
 * and the user's; 0 when neither is penalized.
 */
int64_t auth_penalty_not_before(struct auth_penalty *penalty, const char *ip, const char *user,
                                int64_t now_ms);
/* Count a failed login. */
void auth_penalty_failure(struct auth_penalty *penalty, const char *ip, const char *user,
                          const void *password, size_t password_len, int64_t now_ms);
/* A successful login: forget the IP's and the user's penalty. */
void auth_penalty_success(struct auth_penalty *penalty, const char *ip, const char *user);

/* The larger failure count of ip and user (0 when unknown or expired). */
unsigned int auth_penalty_failures(struct auth_penalty *penalty, const char *ip, const char *user,
                                   int64_t now_ms);
/* Entries held, expired ones included until they are swept. */
unsigned int auth_penalty_entries(struct auth_penalty *penalty);

#endif
