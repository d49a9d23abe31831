/*
 * db.h: the PostgreSQL connection pool every Sluice process uses (libpq).
 *
 * A pool holds at most `size` connections, opened lazily and reopened after a
 * failure (PostgreSQL restarted, network cut). Statements are named, declared
 * once as struct db_stmt constants, and prepared lazily on each connection the
 * first time they run there; parameters are always passed separately from the
 * SQL text (never a string built from input). Every wait is bounded: getting a
 * connection (db_wait_timeout), connecting (db_connect_timeout) and each
 * statement (db_query_timeout, sent as statement_timeout). When the database
 * is unavailable the caller gets DB_TEMPFAIL and reports a temporary failure
 * (SMTP 451 4.3.0, IMAP NO [UNAVAILABLE], auth "tempfail"); never a crash.
 */
#ifndef SLUICE_DB_H
#define SLUICE_DB_H

#include <libpq-fe.h>
#include <stdint.h>

struct config;
struct db_pool;
struct db_conn;

enum db_status {
	DB_OK = 0,
	/* the database cannot be reached or timed out: try again later */
	DB_TEMPFAIL = -1,
	/* the statement failed for a reason of its own (constraint, bad data) */
	DB_ERROR = -2,
};

/* A statement: a unique name and its SQL text with $1.. placeholders. */
struct db_stmt {
	const char *name;
	const char *sql;
};

struct db_pool_settings {
	const char *conninfo; /* libpq conninfo string or URI */
	unsigned int size;    /* connections at most */
	int64_t connect_timeout_ms;
	int64_t query_timeout_ms; /* statement_timeout; our own deadline is a margin later */
	int64_t wait_timeout_ms;
	/*
	 * The program, e.g. "authd": pg_stat_activity shows "sluice-authd"
	 * (a name already starting with "sluice" is used as is) unless the
	 * conninfo sets application_name itself.
	 */
	const char *application_name;
};

/*
 * Fill settings from the configuration: `<program>_db_url` when that setting
 * exists and is not empty (authd_db_url, admin_db_url), else db_url; the rest
 * from db_pool_size, db_connect_timeout, db_query_timeout, db_wait_timeout.
 * The strings point into cfg and `program`, which must outlive the call to
 * db_pool_create() (it copies them).
 */
void db_pool_settings_from_config(struct db_pool_settings *set, const struct config *cfg,
				  const char *program);

/* Create a pool; nothing connects until the first db_acquire(). */
struct db_pool *db_pool_create(const struct db_pool_settings *set);
/* Close every connection; all must have been released (a borrowed one is a bug). */
void db_pool_destroy(struct db_pool **pool);

/*
 * Borrow a connection, connecting if needed. NULL with *error_r set when the
 * database is unreachable or no connection became free within the wait
 * timeout (always a temporary failure).
 */
struct db_conn *db_acquire(struct db_pool *pool, const char **error_r);
/* Return a connection; one that failed or sits inside a transaction is closed. */
void db_release(struct db_conn **conn);

/*
 * Run a statement with text parameters (NULL = SQL NULL); it is prepared on
 * this connection the first time (one name, one SQL text, process-wide).
 * On DB_OK *res_r is the result (PGRES_COMMAND_OK or PGRES_TUPLES_OK, text
 * format) to PQclear(); otherwise *res_r is NULL and *error_r says why. A
 * connection-level failure (class 08, 57P01-57P03, no answer before the
 * deadline) marks the connection broken and returns DB_TEMPFAIL; a statement
 * timeout (57014), serialization failure or deadlock (40001, 40P01), lock
 * timeout (55P03) or lack of resources (class 53) is also DB_TEMPFAIL;
 * anything else is DB_ERROR. The SQLSTATE is kept for db_last_sqlstate().
 */
enum db_status db_exec(struct db_conn *conn, const struct db_stmt *stmt, int nparams,
		       const char *const *params, PGresult **res_r, const char **error_r);
/*
 * Run SQL with no parameters through the simple protocol, no prepared-statement
 * caching (BEGIN, DDL, a migration file): one or more statements separated by
 * semicolons; the first error stops it. Same status rules as db_exec().
 */
enum db_status db_exec_simple(struct db_conn *conn, const char *sql, const char **error_r);

enum db_status db_begin(struct db_conn *conn, const char **error_r);
/*
 * COMMIT. A transaction that had failed is rolled back by the server and
 * gives DB_ERROR (SQLSTATE 25P02); DB_TEMPFAIL here means the outcome is unknown.
 */
enum db_status db_commit(struct db_conn *conn, const char **error_r);
/* Roll back; safe to call on a broken connection or outside a transaction. */
void db_rollback(struct db_conn *conn);

/* The SQLSTATE of the last failed statement on this connection ("" if none). */
const char *db_last_sqlstate(const struct db_conn *conn);
/*
 * The raw libpq connection, for LISTEN/NOTIFY and COPY. It is in nonblocking
 * mode (PQsetnonblocking): wait on PQsocket() with a deadline, as db.c does.
 */
PGconn *db_pgconn(struct db_conn *conn);

#endif
