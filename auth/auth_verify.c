/*
 * auth_verify.c: the credential check behind every AUTH request (see
 * auth_verify.h).
 *
 * Reads domains and mailboxes through sluice-authd's own role, the only one
 * allowed to read password_hash; writes only password_hash (a legacy hash
 * upgraded to argon2id, guarded by the old value so a concurrent password
 * change wins) and last_login. The lookup goes by the unique indexes
 * domains(name) and mailboxes(domain_id, lower(local_part)), so its cost does
 * not grow with the number of domains. Hash verification is bounded by a
 * counting semaphore (argon2id holds 64 MiB while it runs); a request that
 * cannot get a worker in time is a temporary failure. An unknown user costs
 * the same verification as a known one (password_verify_dummy). No database
 * connection is held while hashing.
 */
#include "auth_verify.h"

#include "addr.h"
#include "db.h"
#include "log.h"
#include "password.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct auth_verify {
	struct db_pool *pool;
	struct auth_verify_settings set;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a worker slot freed up */
	unsigned int free_slots;
};

/* By domain name (lower-case A-label) and local part, ignoring its case. */
static const struct db_stmt stmt_lookup = {
    "authd_lookup",
    "SELECT m.id, m.local_part, d.name, m.password_hash, m.active, d.active "
    "FROM domains d JOIN mailboxes m ON m.domain_id = d.id "
    "WHERE d.name = $1 AND lower(m.local_part) = lower($2)",
};

/* Only if nobody changed the password since we read it. */
static const struct db_stmt stmt_rehash = {
    "authd_rehash",
    "UPDATE mailboxes SET password_hash = $1 WHERE id = $2 AND password_hash = $3",
};

/* At most once a minute: a client that logs in every few seconds costs no writes. */
static const struct db_stmt stmt_last_login = {
    "authd_last_login",
    "UPDATE mailboxes SET last_login = now() "
    "WHERE id = $1 AND (last_login IS NULL OR last_login < now() - interval '1 minute')",
};

struct auth_verify *auth_verify_create(struct db_pool *pool, const struct auth_verify_settings *set)
{
	struct auth_verify *v = xcalloc(1, sizeof(*v));
	pthread_condattr_t attr;

	v->pool = pool;
	v->set = *set;
	v->free_slots = set->hash_workers > 0 ? set->hash_workers : 1;
	pthread_mutex_init(&v->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&v->cond, &attr);
	pthread_condattr_destroy(&attr);
	return v;
}

void auth_verify_destroy(struct auth_verify **verify)
{
	struct auth_verify *v = *verify;

	if (v == NULL)
		return;
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
	free(v);
	*verify = NULL;
}

/* Take a hash worker slot, waiting at most hash_wait_ms. */
static int slot_acquire(struct auth_verify *v)
{
	struct timespec ts;
	int64_t deadline_ns;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + v->set.hash_wait_ms * 1000000;
	ts.tv_sec = (time_t)(deadline_ns / 1000000000);
	ts.tv_nsec = (long)(deadline_ns % 1000000000);
	pthread_mutex_lock(&v->lock);
	while (v->free_slots == 0 && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&v->cond, &v->lock, &ts);
	if (v->free_slots == 0) {
		pthread_mutex_unlock(&v->lock);
		return -1;
	}
	v->free_slots--;
	pthread_mutex_unlock(&v->lock);
	return 0;
}

static void slot_release(struct auth_verify *v)
{
	pthread_mutex_lock(&v->lock);
	v->free_slots++;
	pthread_cond_signal(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

/* Did the statement fail because the connection died (worth one retry)? */
static int connection_failed(struct db_conn *conn)
{
	const char *state = db_last_sqlstate(conn);

	return PQstatus(db_pgconn(conn)) != CONNECTION_OK || strncmp(state, "08", 2) == 0 ||
	       strncmp(state, "57P0", 4) == 0;
}

/*
 * Run the lookup. A pooled connection may have died with a restarted server
 * without the pool seeing it yet: one retry on a fresh connection.
 */
static enum db_status lookup(struct auth_verify *v, const struct mail_address *user,
                             PGresult **res_r, const char **error_r)
{
	const char *params[2] = {user->domain, user->local};
	enum db_status st = DB_TEMPFAIL;

	for (int attempt = 0; attempt < 2; attempt++) {
		struct db_conn *conn = db_acquire(v->pool, error_r);
		int retry;

		if (conn == NULL)
			return DB_TEMPFAIL;
		st = db_exec(conn, &stmt_lookup, 2, params, res_r, error_r);
		retry = st == DB_TEMPFAIL && connection_failed(conn);
		db_release(&conn);
		if (!retry)
			break;
	}
	return st;
}

/* After a success: store the upgraded hash (if any) and last_login; failures only logged. */
static void record_login(struct auth_verify *v, const char *id, const char *new_hash,
                         const char *old_hash)
{
	struct db_conn *conn;
	const char *error;
	PGresult *res;

	if ((conn = db_acquire(v->pool, &error)) == NULL) {
		log_warn("cannot record a login: %s", error);
		return;
	}
	if (new_hash != NULL) {
		const char *params[3] = {new_hash, id, old_hash};

		if (db_exec(conn, &stmt_rehash, 3, params, &res, &error) != DB_OK) {
			log_warn("cannot store the upgraded password hash of mailbox %s: %s", id,
			         error);
		} else {
			if (strcmp(PQcmdTuples(res), "1") == 0)
				log_info(
				    "password hash of mailbox %s upgraded to ARGON2ID (was %s)", id,
				    password_scheme_name(old_hash));
			PQclear(res);
		}
	}
	const char *params[1] = {id};
	if (db_exec(conn, &stmt_last_login, 1, params, &res, &error) != DB_OK)
		log_warn("cannot update last_login of mailbox %s: %s", id, error);
	else
		PQclear(res);
	db_release(&conn);
}

enum auth_verify_result auth_verify_login(struct auth_verify *v, const struct mail_address *user,
                                          const char *password, size_t password_len,
                                          char **canonical_r, const char **reason_r)
{
	enum auth_verify_result result = AUTH_VERIFY_FAIL;
	enum password_verify_result pv;
	const char *error = NULL, *stored = NULL;
	char *new_hash = NULL;
	PGresult *res = NULL;
	int needs_rehash = 0;

	*canonical_r = NULL;
	if (password_len == 0) {
		*reason_r = "empty password";
		return AUTH_VERIFY_FAIL;
	}
	switch (lookup(v, user, &res, &error)) {
	case DB_OK:
		break;
	case DB_TEMPFAIL:
		log_warn("mailbox lookup failed: %s", error);
		*reason_r = "database unavailable";
		return AUTH_VERIFY_TEMPFAIL;
	case DB_ERROR:
		log_error("mailbox lookup failed: %s", error);
		*reason_r = "database error";
		return AUTH_VERIFY_TEMPFAIL;
	}
	if (PQntuples(res) == 1 && PQnfields(res) == 6)
		stored = PQgetvalue(res, 0, 3);

	if (slot_acquire(v) < 0) {
		PQclear(res);
		*reason_r = "overloaded";
		return AUTH_VERIFY_TEMPFAIL;
	}
	if (stored == NULL || stored[0] == '\0') {
		/* The same cost as a real check: timing must not tell who exists. */
		password_verify_dummy(password);
		*reason_r = stored == NULL ? "unknown user" : "no password set";
		goto out;
	}
	pv = password_verify(password, stored, &needs_rehash, &error);
	switch (pv) {
	case PASSWORD_MATCH:
		break;
	case PASSWORD_MISMATCH:
		*reason_r = "password mismatch";
		goto out;
	case PASSWORD_INVALID_HASH:
		/* A broken row is the administrator's to fix; the user cannot log in. */
		log_error("mailbox %s has an unusable password hash (%s): %s",
		          PQgetvalue(res, 0, 0), password_scheme_name(stored), error);
		*reason_r = "unusable password hash";
		goto out;
	case PASSWORD_ERROR:
		log_error("password check failed: %s", error);
		*reason_r = "password check failed";
		result = AUTH_VERIFY_TEMPFAIL;
		goto out;
	}
	/* Only a right password learns (in the log) that the account is disabled. */
	if (strcmp(PQgetvalue(res, 0, 5), "t") != 0) {
		*reason_r = "domain inactive";
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 4), "t") != 0) {
		*reason_r = "mailbox inactive";
		goto out;
	}
	if (needs_rehash && v->set.rehash_legacy &&
	    password_hash(password, &new_hash, &error) < 0) {
		log_warn("cannot hash a password for upgrade: %s", error);
		new_hash = NULL;
	}
	result = AUTH_VERIFY_OK;
out:
	slot_release(v);
	if (result == AUTH_VERIFY_OK) {
		record_login(v, PQgetvalue(res, 0, 0), new_hash, stored);
		*canonical_r = xasprintf("%s@%s", PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	}
	free(new_hash);
	PQclear(res);
	return result;
}
