/*
 * db.c: the PostgreSQL connection pool (see db.h).
 *
 * Owns every PGconn of the process. The pool is a mutex, a condition variable
 * and a LIFO list of idle connections; `open` counts connections that exist or
 * are being opened, never more than `size`. All network waits use libpq's
 * asynchronous API with poll() against a deadline: PQconnectStartParams +
 * PQconnectPoll to connect (so a silent or black-holed server cannot hold us
 * past db_connect_timeout), nonblocking sends with PQflush, and
 * PQconsumeInput/PQisBusy to read. The server enforces statement_timeout; our
 * own deadline (a margin later) catches a server that died or froze, and the
 * connection is then dropped. Any connection-class failure marks the
 * connection broken; db_release() closes it and the next db_acquire() opens a
 * fresh one, so a restarted server is picked up without restarting us.
 * Known limit: libpq resolves host names with a blocking getaddrinfo(); use an
 * IP address or a local resolver when DNS may hang.
 */
#include "db.h"

#include "config.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct db_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a connection came back or a slot freed up */
	char *conninfo;
	char *application_name;
	unsigned int size;
	int64_t connect_timeout_ms, query_timeout_ms, wait_timeout_ms;
	struct db_conn *idle; /* LIFO: the warmest connection is reused first */
	unsigned int open;    /* existing or being opened, <= size */
	int unavailable;      /* last connect failed: log the outage once */
};

struct db_conn {
	struct db_pool *pool;
	struct db_conn *next; /* in pool->idle */
	PGconn *pg;
	int broken;      /* unusable: closed by db_release() */
	char **prepared; /* names prepared on this server connection */
	unsigned int prepared_count, prepared_cap;
	char sqlstate[6];
};

/* Our own deadline for a statement: the server's statement_timeout plus a margin. */
static int64_t query_deadline(const struct db_pool *pool)
{
	int64_t margin = pool->query_timeout_ms / 4;

	if (margin < 1000)
		margin = 1000;
	return monotonic_ms() + pool->query_timeout_ms + margin;
}

/*
 * prefix + msg on one line (newlines and tabs become spaces), in the errorf()
 * buffer; prefix may itself come from errorf(), msg must not.
 */
static const char *flatten(const char *prefix, const char *msg)
{
	char buf[512];
	size_t i, o = 0;

	if (msg == NULL || *msg == '\0')
		msg = "unknown error";
	for (i = 0; msg[i] != '\0' && o + 1 < sizeof(buf); i++) {
		char c = msg[i];

		if (c == '\n' || c == '\t' || c == '\r')
			c = ' ';
		if (c == ' ' && (o == 0 || buf[o - 1] == ' '))
			continue;
		buf[o++] = c;
	}
	while (o > 0 && buf[o - 1] == ' ')
		o--;
	buf[o] = '\0';
	return errorf("%s%s", prefix, buf);
}

/*
 * Server messages outside a statement reach us here: notices (logged at debug)
 * and the FATAL a backend sends just before it closes an idle connection
 * (administrator shutdown, pg_terminate_backend): that marks it broken.
 */
static void notice_receiver(void *arg, const PGresult *res)
{
	struct db_conn *conn = arg;
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	char buf[LOG_UNTRUSTED_BUFSZ];

	if (severity == NULL)
		severity = "NOTICE";
	if (msg == NULL)
		msg = "";
	if (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0) {
		conn->broken = 1;
		log_info("PostgreSQL closes a connection: %s",
		         log_untrusted(buf, msg, strlen(msg)));
		return;
	}
	log_debug("PostgreSQL %s: %s", severity, log_untrusted(buf, msg, strlen(msg)));
}

/* Wait for events on the connection's socket: the revents, 0 at the deadline, -1 on error. */
static int wait_socket(PGconn *pg, short events, int64_t deadline)
{
	struct pollfd pfd;
	int fd = PQsocket(pg);

	if (fd < 0)
		return -1;
	for (;;) {
		int64_t left = deadline - monotonic_ms();
		int n;

		if (left <= 0)
			return 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return pfd.revents;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/*
 * SQLSTATEs after which the connection is gone or going: class 08
 * (connection exception), 57P01 admin_shutdown, 57P02 crash_shutdown,
 * 57P03 cannot_connect_now.
 */
static int sqlstate_breaks_connection(const char *s)
{
	return strncmp(s, "08", 2) == 0 || strcmp(s, "57P01") == 0 || strcmp(s, "57P02") == 0 ||
	       strcmp(s, "57P03") == 0;
}

/*
 * SQLSTATEs worth retrying later on a healthy connection: 57014
 * query_canceled (statement_timeout), 40001 serialization_failure, 40P01
 * deadlock_detected, 55P03 lock_not_available, class 53 insufficient
 * resources (too many connections, disk full, out of memory).
 */
static int sqlstate_is_temporary(const char *s)
{
	return strcmp(s, "57014") == 0 || strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 ||
	       strcmp(s, "55P03") == 0 || strncmp(s, "53", 2) == 0;
}

/* Mark the connection broken and describe why, as a temporary failure. */
static enum db_status conn_lost(struct db_conn *conn, const char *what, const char **error_r)
{
	conn->broken = 1;
	*error_r =
	    flatten(errorf("PostgreSQL connection lost (%s): ", what), PQerrorMessage(conn->pg));
	return DB_TEMPFAIL;
}

/* Classify a finished result; on DB_OK the caller keeps res, else it is cleared. */
static enum db_status result_status(struct db_conn *conn, PGresult *res, const char *what,
                                    const char **error_r)
{
	const char *state, *primary, *detail;
	char msg[512];

	if (PQstatus(conn->pg) != CONNECTION_OK)
		conn->broken = 1;
	if (res == NULL) {
		if (conn->broken)
			return conn_lost(conn, what, error_r);
		*error_r = errorf("%s: PostgreSQL returned no result", what);
		return DB_ERROR;
	}
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY:
		return DB_OK;
	case PGRES_COPY_IN:
	case PGRES_COPY_OUT:
	case PGRES_COPY_BOTH:
		/* the connection now sits in COPY mode that nothing here ends */
		conn->broken = 1;
		*error_r = errorf("%s: COPY is not supported through db_exec", what);
		return DB_ERROR;
	default:
		break;
	}

	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	snprintf(conn->sqlstate, sizeof(conn->sqlstate), "%s", state != NULL ? state : "");
	if (conn->broken || conn->sqlstate[0] == '\0' ||
	    sqlstate_breaks_connection(conn->sqlstate)) {
		/* no SQLSTATE: libpq itself failed (lost socket, protocol error) */
		conn->broken = 1;
		*error_r = flatten(errorf("%s: PostgreSQL unavailable: ", what),
		                   PQresultErrorMessage(res));
		return DB_TEMPFAIL;
	}
	primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	snprintf(msg, sizeof(msg), "%s%s%s", primary != NULL ? primary : "unknown error",
	         detail != NULL ? "; " : "", detail != NULL ? detail : "");
	*error_r = flatten(errorf("%s: (SQLSTATE %s) ", what, conn->sqlstate), msg);
	return sqlstate_is_temporary(conn->sqlstate) ? DB_TEMPFAIL : DB_ERROR;
}

/*
 * After a PQsend*: flush the request and gather every result until the
 * deadline. The first error result wins (later statements of a multi-statement
 * string do not run after it), else the last result. res_r may be NULL when
 * the caller wants no rows.
 */
static enum db_status conn_finish(struct db_conn *conn, int64_t deadline, const char *what,
                                  PGresult **res_r, const char **error_r)
{
	PGconn *pg = conn->pg;
	PGresult *keep = NULL, *res;
	enum db_status status;
	int ev, rc;

	while ((rc = PQflush(pg)) != 0) {
		if (rc < 0)
			return conn_lost(conn, what, error_r);
		ev = wait_socket(pg, POLLIN | POLLOUT, deadline);
		if (ev <= 0)
			goto timeout;
		if ((ev & (POLLIN | POLLHUP | POLLERR)) != 0 && !PQconsumeInput(pg))
			return conn_lost(conn, what, error_r);
	}
	for (;;) {
		while (PQisBusy(pg)) {
			ev = wait_socket(pg, POLLIN, deadline);
			if (ev <= 0)
				goto timeout;
			if (!PQconsumeInput(pg)) {
				/* libpq may have queued an error result explaining it */
				if (PQisBusy(pg)) {
					PQclear(keep);
					return conn_lost(conn, what, error_r);
				}
			}
		}
		res = PQgetResult(pg);
		if (res == NULL)
			break;
		if (keep != NULL && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
			PQclear(res); /* the first error wins */
		} else {
			PQclear(keep);
			keep = res;
		}
	}
	status = result_status(conn, keep, what, error_r);
	if (status != DB_OK || res_r == NULL)
		PQclear(keep);
	else
		*res_r = keep;
	return status;

timeout:
	PQclear(keep);
	/*
	 * The server did not answer in time although statement_timeout should
	 * have stopped it: it is frozen, gone or unreachable. Drop the
	 * connection rather than wait on a cancel request that could hang too.
	 */
	conn->broken = 1;
	*error_r = errorf("%s: PostgreSQL did not answer within %lld ms", what,
	                  (long long)(conn->pool->query_timeout_ms));
	return DB_TEMPFAIL;
}

/* One or more statements through the simple protocol, with a deadline. */
static enum db_status conn_simple(struct db_conn *conn, const char *sql, int64_t deadline,
                                  PGresult **res_r, const char **error_r)
{
	conn->sqlstate[0] = '\0';
	if (conn->broken) {
		*error_r = "PostgreSQL connection lost earlier";
		return DB_TEMPFAIL;
	}
	if (!PQsendQuery(conn->pg, sql)) {
		if (PQstatus(conn->pg) != CONNECTION_OK)
			return conn_lost(conn, "query", error_r);
		conn->broken = 1;
		*error_r = flatten("PostgreSQL: ", PQerrorMessage(conn->pg));
		return DB_TEMPFAIL;
	}
	return conn_finish(conn, deadline, "query", res_r, error_r);
}

static void conn_free(struct db_conn *conn)
{
	unsigned int i;

	if (conn->pg != NULL)
		PQfinish(conn->pg);
	for (i = 0; i < conn->prepared_count; i++)
		free(conn->prepared[i]);
	free(conn->prepared);
	free(conn);
}

/* Open one connection within the connect deadline; NULL with *error_r on failure. */
static struct db_conn *conn_open(struct db_pool *pool, const char **error_r)
{
	int64_t deadline = monotonic_ms() + pool->connect_timeout_ms;
	/* Later keywords win: the conninfo may set application_name, not client_encoding. */
	const char *const keys[] = {"fallback_application_name", "dbname", "client_encoding", NULL};
	const char *const values[] = {pool->application_name, pool->conninfo, "UTF8", NULL};
	PostgresPollingStatusType poll_status = PGRES_POLLING_WRITING;
	struct db_conn *conn;
	char sql[64];
	int ev;

	conn = xcalloc(1, sizeof(*conn));
	conn->pool = pool;
	conn->pg = PQconnectStartParams(keys, values, 1);
	if (conn->pg == NULL)
		log_panic("PQconnectStartParams: out of memory");
	PQsetNoticeReceiver(conn->pg, notice_receiver, conn);
	if (PQstatus(conn->pg) == CONNECTION_BAD) {
		*error_r = flatten("cannot connect to PostgreSQL: ", PQerrorMessage(conn->pg));
		goto fail;
	}
	/* libpq: start as if PQconnectPoll had asked to wait for writing */
	while (poll_status != PGRES_POLLING_OK) {
		if (poll_status == PGRES_POLLING_FAILED) {
			*error_r =
			    flatten("cannot connect to PostgreSQL: ", PQerrorMessage(conn->pg));
			goto fail;
		}
		if (poll_status == PGRES_POLLING_READING || poll_status == PGRES_POLLING_WRITING) {
			ev = wait_socket(conn->pg,
			                 poll_status == PGRES_POLLING_READING ? POLLIN : POLLOUT,
			                 deadline);
			if (ev == 0) {
				*error_r = errorf("cannot connect to PostgreSQL: no answer within "
				                  "%lld ms",
				                  (long long)pool->connect_timeout_ms);
				goto fail;
			}
			if (ev < 0) {
				*error_r = errorf("cannot connect to PostgreSQL: poll: %s",
				                  strerror(errno));
				goto fail;
			}
		}
		poll_status = PQconnectPoll(conn->pg);
	}
	if (PQsetnonblocking(conn->pg, 1) != 0) {
		*error_r = flatten("PostgreSQL: ", PQerrorMessage(conn->pg));
		goto fail;
	}
	/* The server stops a statement itself; our deadline is only the backstop. */
	snprintf(sql, sizeof(sql), "SET statement_timeout = %lld",
	         (long long)pool->query_timeout_ms);
	if (conn_simple(conn, sql, deadline, NULL, error_r) != DB_OK) {
		*error_r = errorf("cannot connect to PostgreSQL: %s", *error_r);
		goto fail;
	}
	log_debug("PostgreSQL connection opened (server %d, backend pid %d)",
	          PQserverVersion(conn->pg), PQbackendPID(conn->pg));
	return conn;

fail:
	conn_free(conn);
	return NULL;
}

/* Is an idle connection still usable? Reads what the server sent meanwhile. */
static int conn_alive(struct db_conn *conn)
{
	struct pollfd pfd;
	int i;

	for (i = 0; i < 4 && !conn->broken; i++) {
		if (PQstatus(conn->pg) != CONNECTION_OK ||
		    PQtransactionStatus(conn->pg) != PQTRANS_IDLE)
			return 0;
		pfd.fd = PQsocket(conn->pg);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0)
			return 0;
		if (poll(&pfd, 1, 0) <= 0)
			return 1; /* nothing pending: as alive as we can tell */
		/* notices, NOTIFY, or the FATAL and EOF of a closing backend */
		if (!PQconsumeInput(conn->pg))
			return 0;
		/* parsing happens here: a FATAL reaches notice_receiver() */
		(void)PQisBusy(conn->pg);
	}
	return !conn->broken && PQstatus(conn->pg) == CONNECTION_OK;
}

static const char *pool_application_name(const char *name)
{
	if (name == NULL || *name == '\0')
		return "sluice";
	if (strncmp(name, "sluice", 6) == 0)
		return name;
	return errorf("sluice-%s", name);
}

static int setting_exists(const char *name)
{
	unsigned int i;

	for (i = 0; i < settings_count; i++) {
		if (strcmp(settings_table[i].name, name) == 0)
			return 1;
	}
	return 0;
}

void db_pool_settings_from_config(struct db_pool_settings *set, const struct config *cfg,
                                  const char *program)
{
	char key[64];

	memset(set, 0, sizeof(*set));
	set->conninfo = config_str(cfg, "db_url");
	if (program != NULL &&
	    snprintf(key, sizeof(key), "%s_db_url", program) < (int)sizeof(key) &&
	    setting_exists(key) && *config_str(cfg, key) != '\0')
		set->conninfo = config_str(cfg, key);
	set->size = (unsigned int)config_int(cfg, "db_pool_size");
	set->connect_timeout_ms = config_duration_ms(cfg, "db_connect_timeout");
	set->query_timeout_ms = config_duration_ms(cfg, "db_query_timeout");
	set->wait_timeout_ms = config_duration_ms(cfg, "db_wait_timeout");
	set->application_name = program;
}

struct db_pool *db_pool_create(const struct db_pool_settings *set)
{
	struct db_pool *pool;
	pthread_condattr_t attr;

	if (!PQisthreadsafe())
		log_fatal(1, "libpq was built without thread safety");
	if (set->size == 0 || set->connect_timeout_ms <= 0 || set->query_timeout_ms <= 0 ||
	    set->wait_timeout_ms < 0)
		log_panic("db_pool_create: bad settings");
	pool = xcalloc(1, sizeof(*pool));
	pool->conninfo = xstrdup(set->conninfo != NULL ? set->conninfo : "");
	pool->application_name = xstrdup(pool_application_name(set->application_name));
	pool->size = set->size;
	pool->connect_timeout_ms = set->connect_timeout_ms;
	pool->query_timeout_ms = set->query_timeout_ms;
	pool->wait_timeout_ms = set->wait_timeout_ms;
	pthread_mutex_init(&pool->lock, NULL);
	/* deadlines on the monotonic clock: a clock change must not stretch a wait */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&pool->cond, &attr);
	pthread_condattr_destroy(&attr);
	return pool;
}

void db_pool_destroy(struct db_pool **poolp)
{
	struct db_pool *pool = *poolp;
	struct db_conn *conn;
	unsigned int idle = 0;

	if (pool == NULL)
		return;
	*poolp = NULL;
	for (conn = pool->idle; conn != NULL; conn = conn->next)
		idle++;
	if (idle != pool->open)
		log_panic("db_pool_destroy: %u connections still borrowed", pool->open - idle);
	while ((conn = pool->idle) != NULL) {
		pool->idle = conn->next;
		conn_free(conn);
	}
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->lock);
	free(pool->conninfo);
	free(pool->application_name);
	free(pool);
}

/* Give a slot back after a connection was closed or never opened. */
static void pool_slot_free(struct db_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	pool->open--;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
}

/* Open a connection in a slot already counted in pool->open. */
static struct db_conn *pool_connect(struct db_pool *pool, const char **error_r)
{
	struct db_conn *conn = conn_open(pool, error_r);
	int was_unavailable;

	pthread_mutex_lock(&pool->lock);
	was_unavailable = pool->unavailable;
	pool->unavailable = conn == NULL;
	if (conn == NULL) {
		pool->open--;
		pthread_cond_signal(&pool->cond);
	}
	pthread_mutex_unlock(&pool->lock);
	/* one line when the outage starts and one when it ends, not one per attempt */
	if (conn == NULL && !was_unavailable)
		log_warn("PostgreSQL unavailable: %s", *error_r);
	else if (conn != NULL && was_unavailable)
		log_info("PostgreSQL available again");
	return conn;
}

struct db_conn *db_acquire(struct db_pool *pool, const char **error_r)
{
	struct timespec deadline;
	struct db_conn *conn;
	int timed_out = 0;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += pool->wait_timeout_ms / 1000;
	deadline.tv_nsec += (pool->wait_timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		if ((conn = pool->idle) != NULL) {
			pool->idle = conn->next;
			conn->next = NULL;
			pthread_mutex_unlock(&pool->lock);
			if (conn_alive(conn))
				return conn;
			/* the server went away while it sat idle: replace it */
			log_info("dropping a dead PostgreSQL connection");
			conn_free(conn);
			pool_slot_free(pool);
			pthread_mutex_lock(&pool->lock);
			continue;
		}
		if (pool->open < pool->size) {
			pool->open++;
			pthread_mutex_unlock(&pool->lock);
			return pool_connect(pool, error_r);
		}
		if (timed_out)
			break;
		if (pthread_cond_timedwait(&pool->cond, &pool->lock, &deadline) == ETIMEDOUT)
			timed_out = 1; /* look once more, then give up */
	}
	pthread_mutex_unlock(&pool->lock);
	*error_r = errorf("no free PostgreSQL connection within %lld ms (all %u busy)",
	                  (long long)pool->wait_timeout_ms, pool->size);
	return NULL;
}

void db_release(struct db_conn **connp)
{
	struct db_conn *conn = *connp;
	struct db_pool *pool;

	if (conn == NULL)
		return;
	*connp = NULL;
	pool = conn->pool;
	if (!conn->broken && PQstatus(conn->pg) == CONNECTION_OK &&
	    PQtransactionStatus(conn->pg) == PQTRANS_IDLE) {
		conn->sqlstate[0] = '\0';
		pthread_mutex_lock(&pool->lock);
		conn->next = pool->idle;
		pool->idle = conn;
		pthread_cond_signal(&pool->cond);
		pthread_mutex_unlock(&pool->lock);
		return;
	}
	if (!conn->broken && PQstatus(conn->pg) == CONNECTION_OK)
		log_warn("PostgreSQL connection returned inside a transaction: closed");
	conn_free(conn);
	pool_slot_free(pool);
}

static int prepared_find(const struct db_conn *conn, const char *name)
{
	unsigned int i;

	for (i = 0; i < conn->prepared_count; i++) {
		if (strcmp(conn->prepared[i], name) == 0)
			return (int)i;
	}
	return -1;
}

static void prepared_add(struct db_conn *conn, const char *name)
{
	if (conn->prepared_count == conn->prepared_cap) {
		conn->prepared_cap = conn->prepared_cap == 0 ? 16 : conn->prepared_cap * 2;
		conn->prepared = xrealloc(conn->prepared, conn->prepared_cap * sizeof(char *));
	}
	conn->prepared[conn->prepared_count++] = xstrdup(name);
}

static void prepared_remove(struct db_conn *conn, int i)
{
	free(conn->prepared[i]);
	conn->prepared[i] = conn->prepared[--conn->prepared_count];
}

enum db_status db_exec(struct db_conn *conn, const struct db_stmt *stmt, int nparams,
                       const char *const *params, PGresult **res_r, const char **error_r)
{
	int64_t deadline = query_deadline(conn->pool);
	enum db_status status;
	int attempt, i;

	*res_r = NULL;
	if (nparams < 0 || nparams > 65535)
		log_panic("db_exec %s: %d parameters", stmt->name, nparams);
	for (attempt = 0;; attempt++) {
		conn->sqlstate[0] = '\0';
		if (conn->broken) {
			*error_r = "PostgreSQL connection lost earlier";
			return DB_TEMPFAIL;
		}
		if (prepared_find(conn, stmt->name) < 0) {
			/* parameter types are inferred by the server from the SQL */
			if (!PQsendPrepare(conn->pg, stmt->name, stmt->sql, 0, NULL))
				return conn_lost(conn, stmt->name, error_r);
			status = conn_finish(conn, deadline, stmt->name, NULL, error_r);
			/* 42P05 duplicate_prepared_statement: it exists already */
			if (status != DB_OK && strcmp(conn->sqlstate, "42P05") != 0)
				return status;
			prepared_add(conn, stmt->name);
		}
		/* text parameters and text results: no binary format to get wrong */
		if (!PQsendQueryPrepared(conn->pg, stmt->name, nparams, params, NULL, NULL, 0))
			return conn_lost(conn, stmt->name, error_r);
		status = conn_finish(conn, deadline, stmt->name, res_r, error_r);
		/*
		 * 26000 invalid_sql_statement_name: someone ran DEALLOCATE or
		 * DISCARD ALL on this connection. Outside a transaction nothing
		 * was done, so prepare it again once.
		 */
		if (status == DB_ERROR && strcmp(conn->sqlstate, "26000") == 0 && attempt == 0 &&
		    PQtransactionStatus(conn->pg) == PQTRANS_IDLE &&
		    (i = prepared_find(conn, stmt->name)) >= 0) {
			prepared_remove(conn, i);
			continue;
		}
		return status;
	}
}

enum db_status db_exec_simple(struct db_conn *conn, const char *sql, const char **error_r)
{
	return conn_simple(conn, sql, query_deadline(conn->pool), NULL, error_r);
}

enum db_status db_begin(struct db_conn *conn, const char **error_r)
{
	return db_exec_simple(conn, "BEGIN", error_r);
}

enum db_status db_commit(struct db_conn *conn, const char **error_r)
{
	PGresult *res = NULL;
	enum db_status status;

	status = conn_simple(conn, "COMMIT", query_deadline(conn->pool), &res, error_r);
	if (status != DB_OK)
		return status;
	/* COMMIT of a transaction that had failed answers ROLLBACK, without an error */
	if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
		snprintf(conn->sqlstate, sizeof(conn->sqlstate), "25P02");
		*error_r = "COMMIT: the transaction had failed and was rolled back";
		status = DB_ERROR;
	}
	PQclear(res);
	return status;
}

void db_rollback(struct db_conn *conn)
{
	const char *error;
	char sqlstate[sizeof(conn->sqlstate)];

	if (conn == NULL || conn->broken || PQstatus(conn->pg) != CONNECTION_OK ||
	    PQtransactionStatus(conn->pg) == PQTRANS_IDLE)
		return;
	/* keep the SQLSTATE of the failure that led here */
	memcpy(sqlstate, conn->sqlstate, sizeof(sqlstate));
	if (db_exec_simple(conn, "ROLLBACK", &error) != DB_OK)
		conn->broken = 1;
	memcpy(conn->sqlstate, sqlstate, sizeof(sqlstate));
}

const char *db_last_sqlstate(const struct db_conn *conn)
{
	return conn->sqlstate;
}

PGconn *db_pgconn(struct db_conn *conn)
{
	return conn->pg;
}
