/*
 * db_probe.c: a test driver for lib/db.c and lib/migrate.c, steered line by
 * line by tests/integration/test_db.py, which controls the PostgreSQL cluster
 * (stops it, restarts it, kills and freezes backends) between commands.
 *
 * Usage: db_probe CONNINFO POOL_SIZE CONNECT_MS QUERY_MS WAIT_MS
 * Commands on stdin, fields separated by tabs; one answer line each:
 *   "OK <ms> ...", "TEMPFAIL <ms> <sqlstate|-> <error>", "ERROR <ms> <sqlstate> <error>"
 * where <ms> is how long the command took. See cmd_table below for the verbs.
 * Trusted input (the test); not for production use.
 */
#include "db.h"
#include "log.h"
#include "migrate.h"
#include "util.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FIELDS 16
#define MAX_HELD 64
#define MAX_THREADS 64

static struct db_pool *pool;
static struct db_conn *held[MAX_HELD];
static unsigned int held_count;

/* A statement named after its SQL text, so the same text is prepared once per connection. */
static struct db_stmt make_stmt(const char *sql, char *name, size_t size)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	struct db_stmt stmt;
	const char *p;

	for (p = sql; *p != '\0'; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ULL;
	}
	snprintf(name, size, "probe_%016llx", (unsigned long long)h);
	stmt.name = name;
	stmt.sql = sql;
	return stmt;
}

static void answer_status(enum db_status status, int64_t start, struct db_conn *conn,
                          const char *error, const char *ok_text)
{
	long long ms = (long long)(monotonic_ms() - start);
	const char *state =
	    conn != NULL && *db_last_sqlstate(conn) != '\0' ? db_last_sqlstate(conn) : "-";
	if (status == DB_OK)
		printf("OK %lld %s\n", ms, ok_text != NULL ? ok_text : "");
	else
		printf("%s %lld %s %s\n", status == DB_TEMPFAIL ? "TEMPFAIL" : "ERROR", ms, state,
		       error);
}

/* Run SQL with parameters on conn; the answer carries the row count and first value. */
static enum db_status run_exec(struct db_conn *conn, char **fields, unsigned int nfields,
                               int64_t start)
{
	const char *params[MAX_FIELDS];
	char name[32], text[512];
	struct db_stmt stmt = make_stmt(fields[0], name, sizeof(name));
	const char *error = NULL;
	enum db_status status;
	PGresult *res;
	unsigned int i;

	for (i = 1; i < nfields; i++)
		params[i - 1] = strcmp(fields[i], "\\N") == 0 ? NULL : fields[i];
	status = db_exec(conn, &stmt, (int)nfields - 1, params, &res, &error);
	if (status == DB_OK) {
		snprintf(text, sizeof(text), "%d %s", PQntuples(res),
		         PQntuples(res) > 0 && PQnfields(res) > 0 ? PQgetvalue(res, 0, 0) : "-");
		PQclear(res);
	}
	answer_status(status, start, conn, error, text);
	return status;
}

static void cmd_exec(char **f, unsigned int n, int64_t start)
{
	const char *error = NULL;
	struct db_conn *conn = db_acquire(pool, &error);

	if (conn == NULL) {
		answer_status(DB_TEMPFAIL, start, NULL, error, NULL);
		return;
	}
	run_exec(conn, f + 1, n - 1, start);
	db_release(&conn);
}

static void cmd_simple(char **f, unsigned int n, int64_t start)
{
	const char *error = NULL;
	struct db_conn *conn = db_acquire(pool, &error);
	enum db_status status;

	(void)n;
	if (conn == NULL) {
		answer_status(DB_TEMPFAIL, start, NULL, error, NULL);
		return;
	}
	status = db_exec_simple(conn, f[1], &error);
	answer_status(status, start, conn, error, "");
	db_release(&conn);
}

/* hold N: borrow N more connections and keep them. */
static void cmd_hold(char **f, unsigned int n, int64_t start)
{
	unsigned int want = (unsigned int)atoi(f[1]), i;
	const char *error = NULL;
	char text[32];

	(void)n;
	for (i = 0; i < want && held_count < MAX_HELD; i++) {
		struct db_conn *conn = db_acquire(pool, &error);

		if (conn == NULL) {
			answer_status(DB_TEMPFAIL, start, NULL, error, NULL);
			return;
		}
		held[held_count++] = conn;
	}
	snprintf(text, sizeof(text), "%u", held_count);
	answer_status(DB_OK, start, NULL, NULL, text);
}

static void cmd_release(char **f, unsigned int n, int64_t start)
{
	(void)f;
	(void)n;
	while (held_count > 0)
		db_release(&held[--held_count]);
	answer_status(DB_OK, start, NULL, NULL, "");
}

static struct db_conn *held_conn(const char *index, int64_t start)
{
	unsigned int i = (unsigned int)atoi(index);

	if (i >= held_count) {
		answer_status(DB_ERROR, start, NULL, "no such held connection", NULL);
		return NULL;
	}
	return held[i];
}

/* on I SQL [PARAM...]: run on held connection I. */
static void cmd_on(char **f, unsigned int n, int64_t start)
{
	struct db_conn *conn = held_conn(f[1], start);

	if (conn != NULL)
		run_exec(conn, f + 2, n - 2, start);
}

/* txn I begin|commit|rollback on held connection I. */
static void cmd_txn(char **f, unsigned int n, int64_t start)
{
	struct db_conn *conn = held_conn(f[1], start);
	const char *error = NULL;
	enum db_status status = DB_OK;

	(void)n;
	if (conn == NULL)
		return;
	if (strcmp(f[2], "begin") == 0)
		status = db_begin(conn, &error);
	else if (strcmp(f[2], "commit") == 0)
		status = db_commit(conn, &error);
	else
		db_rollback(conn);
	answer_status(status, start, conn, error, "");
}

/* Shared by the worker threads of `threads` and `bg_start`. */
static atomic_uint n_ok, n_tempfail, n_error, n_ok_after_fail;
static atomic_llong max_ms;
static atomic_int bg_stop_flag;
static pthread_t workers[MAX_THREADS];
static unsigned int worker_count;

static void note_latency(int64_t ms)
{
	long long old = atomic_load(&max_ms);

	while (ms > old && !atomic_compare_exchange_weak(&max_ms, &old, (long long)ms))
		;
}

/*
 * One unit of work on one borrowed connection: prepared statements whose
 * results are checked. With `rows`, also an INSERT and a count of this
 * thread's rows, which must match exactly (so not across an outage, where a
 * committed INSERT may have been reported as a failure).
 */
static enum db_status work_once(unsigned int thread, unsigned int i, int rows, const char **error_r)
{
	static const struct db_stmt add = {"probe_add", "SELECT $1::int + 1"};
	static const struct db_stmt insert = {"probe_insert",
	                                      "INSERT INTO probe_rows (thread, i) VALUES ($1, $2)"};
	static const struct db_stmt count = {"probe_count",
	                                     "SELECT count(*) FROM probe_rows WHERE thread = $1"};
	char tbuf[16], ibuf[16], want[16];
	const char *params[2] = {tbuf, ibuf};
	enum db_status status;
	struct db_conn *conn;
	PGresult *res;

	snprintf(tbuf, sizeof(tbuf), "%u", thread);
	snprintf(ibuf, sizeof(ibuf), "%u", i);
	if ((conn = db_acquire(pool, error_r)) == NULL)
		return DB_TEMPFAIL;
	status = db_exec(conn, &add, 1, params + 1, &res, error_r);
	if (status == DB_OK) {
		snprintf(want, sizeof(want), "%u", i + 1);
		if (strcmp(PQgetvalue(res, 0, 0), want) != 0) {
			*error_r = "wrong sum";
			status = DB_ERROR;
		}
		PQclear(res);
	}
	if (!rows) {
		db_release(&conn);
		return status;
	}
	if (status == DB_OK && (status = db_exec(conn, &insert, 2, params, &res, error_r)) == DB_OK)
		PQclear(res);
	if (status == DB_OK &&
	    (status = db_exec(conn, &count, 1, params, &res, error_r)) == DB_OK) {
		if (strcmp(PQgetvalue(res, 0, 0), want) != 0) {
			*error_r = "wrong count";
			status = DB_ERROR;
		}
		PQclear(res);
	}
	db_release(&conn);
	return status;
}

struct worker_args {
	unsigned int thread, iterations; /* iterations 0: until bg_stop */
};

static void *worker(void *arg)
{
	struct worker_args *wa = arg;
	const char *error = NULL;
	unsigned int i;
	int failed = 0;

	for (i = 0; wa->iterations == 0 ? !atomic_load(&bg_stop_flag) : i < wa->iterations; i++) {
		int64_t t0 = monotonic_ms();
		enum db_status status = work_once(wa->thread, i, wa->iterations != 0, &error);

		note_latency(monotonic_ms() - t0);
		if (status == DB_OK) {
			atomic_fetch_add(&n_ok, 1);
			if (failed)
				atomic_fetch_add(&n_ok_after_fail, 1);
		} else if (status == DB_TEMPFAIL) {
			atomic_fetch_add(&n_tempfail, 1);
			failed = 1;
		} else {
			atomic_fetch_add(&n_error, 1);
			fprintf(stderr, "db_probe: thread %u: %s\n", wa->thread, error);
		}
		if (wa->iterations == 0)
			usleep(20000);
	}
	free(wa);
	return NULL;
}

static void start_workers(unsigned int n, unsigned int iterations)
{
	unsigned int i;

	atomic_store(&n_ok, 0);
	atomic_store(&n_tempfail, 0);
	atomic_store(&n_error, 0);
	atomic_store(&n_ok_after_fail, 0);
	atomic_store(&max_ms, 0);
	atomic_store(&bg_stop_flag, 0);
	for (i = 0; i < n && i < MAX_THREADS; i++) {
		struct worker_args *wa = xcalloc(1, sizeof(*wa));

		wa->thread = i;
		wa->iterations = iterations;
		if (pthread_create(&workers[i], NULL, worker, wa) != 0)
			log_fatal(1, "pthread_create failed");
	}
	worker_count = i;
}

static void join_workers(int64_t start)
{
	char text[128];
	unsigned int i;

	for (i = 0; i < worker_count; i++)
		pthread_join(workers[i], NULL);
	worker_count = 0;
	snprintf(text, sizeof(text), "%u %u %u %lld %u", atomic_load(&n_ok),
	         atomic_load(&n_tempfail), atomic_load(&n_error), (long long)atomic_load(&max_ms),
	         atomic_load(&n_ok_after_fail));
	answer_status(DB_OK, start, NULL, NULL, text);
}

/* threads N ITER: N threads, ITER units each; answers "ok tempfail error max_ms ok_after_fail". */
static void cmd_threads(char **f, unsigned int n, int64_t start)
{
	(void)n;
	start_workers((unsigned int)atoi(f[1]), (unsigned int)atoi(f[2]));
	join_workers(start);
}

static void cmd_bg_start(char **f, unsigned int n, int64_t start)
{
	(void)n;
	start_workers((unsigned int)atoi(f[1]), 0);
	answer_status(DB_OK, start, NULL, NULL, "");
}

static void cmd_bg_stop(char **f, unsigned int n, int64_t start)
{
	(void)f;
	(void)n;
	atomic_store(&bg_stop_flag, 1);
	join_workers(start);
}

static void report_applied(const struct migration *m, void *context)
{
	struct sbuf *names = context;

	sbuf_appendf(names, "%s%s", names->len > 0 ? "," : "", m->name);
}

/* migrate [DIR]: the embedded migrations, or the NNNN_*.sql files of DIR. */
static void cmd_migrate(char **f, unsigned int n, int64_t start)
{
	struct migration list[32];
	char *owned[2 * ARRAY_SIZE(list)];
	unsigned int count = 0, applied = 0, current = 0, i;
	struct sbuf names = {0}, text = {0};
	const char *error = NULL;
	struct db_conn *conn;
	enum db_status status;

	if (n > 1) {
		struct dirent **ents;
		int nents = scandir(f[1], &ents, NULL, alphasort);

		for (i = 0; nents > 0 && i < (unsigned int)nents; i++) {
			char path[4096], buf[65536];
			FILE *fp;
			size_t len;

			if (count < ARRAY_SIZE(list) && strstr(ents[i]->d_name, ".sql") != NULL) {
				snprintf(path, sizeof(path), "%s/%s", f[1], ents[i]->d_name);
				if ((fp = fopen(path, "r")) == NULL)
					log_fatal(1, "%s: cannot open", path);
				len = fread(buf, 1, sizeof(buf) - 1, fp);
				buf[len] = '\0';
				fclose(fp);
				list[count].version = (unsigned int)atoi(ents[i]->d_name);
				list[count].name = owned[2 * count] = xstrdup(ents[i]->d_name);
				list[count].sql = owned[2 * count + 1] = xstrdup(buf);
				count++;
			}
			free(ents[i]);
		}
		free(ents);
	}
	if ((conn = db_acquire(pool, &error)) == NULL) {
		answer_status(DB_TEMPFAIL, start, NULL, error, NULL);
	} else {
		if (n > 1)
			status = migrate_apply_list(conn, list, count, report_applied, &names,
			                            &applied, &current, &error);
		else
			status =
			    migrate_apply(conn, report_applied, &names, &applied, &current, &error);
		sbuf_appendf(&text, "%u %u %s", applied, current,
		             names.len > 0 ? sbuf_str(&names) : "-");
		answer_status(status, start, conn, error, sbuf_str(&text));
		db_release(&conn);
	}
	for (i = 0; i < 2 * count; i++)
		free(owned[i]);
	sbuf_free(&names);
	sbuf_free(&text);
}

/* status: "version:name:embedded:applied" for each version, space-separated. */
static void cmd_status(char **f, unsigned int n, int64_t start)
{
	struct migration_state *states = NULL;
	unsigned int count = 0, i, version = 0;
	const char *error = NULL;
	struct sbuf text = {0};
	struct db_conn *conn;
	enum db_status status;

	(void)f;
	(void)n;
	if ((conn = db_acquire(pool, &error)) == NULL) {
		answer_status(DB_TEMPFAIL, start, NULL, error, NULL);
		return;
	}
	status = migrate_current_version(conn, &version, &error);
	if (status == DB_OK)
		status = migrate_status(conn, &states, &count, &error);
	sbuf_appendf(&text, "%u", version);
	for (i = 0; i < count; i++)
		sbuf_appendf(&text, " %u:%s:%d:%d:%s", states[i].version, states[i].name,
		             states[i].embedded, states[i].applied,
		             states[i].applied && states[i].applied_at[0] != '\0' ? "at" : "-");
	answer_status(status, start, conn, error, sbuf_str(&text));
	free(states);
	sbuf_free(&text);
	db_release(&conn);
}

static const struct {
	const char *name;
	unsigned int min_fields;
	void (*run)(char **fields, unsigned int nfields, int64_t start);
} cmd_table[] = {
    {"exec", 2, cmd_exec},         /* exec SQL [PARAM...] (\N is NULL) */
    {"simple", 2, cmd_simple},     /* simple SQL: db_exec_simple */
    {"hold", 2, cmd_hold},         /* hold N */
    {"release", 1, cmd_release},   /* release every held connection */
    {"on", 3, cmd_on},             /* on I SQL [PARAM...] */
    {"txn", 3, cmd_txn},           /* txn I begin|commit|rollback */
    {"threads", 3, cmd_threads},   /* threads N ITERATIONS */
    {"bg_start", 2, cmd_bg_start}, /* bg_start N: workers until bg_stop */
    {"bg_stop", 1, cmd_bg_stop},
    {"migrate", 1, cmd_migrate}, /* migrate [DIR] */
    {"status", 1, cmd_status},
};

int main(int argc, char **argv)
{
	struct db_pool_settings set;
	char line[8192];

	if (argc != 6) {
		fprintf(stderr, "usage: db_probe CONNINFO POOL_SIZE CONNECT_MS QUERY_MS WAIT_MS\n");
		return 64;
	}
	log_init("db_probe", 0, LOG_LEVEL_INFO);
	memset(&set, 0, sizeof(set));
	set.conninfo = argv[1];
	set.size = (unsigned int)atoi(argv[2]);
	set.connect_timeout_ms = atoll(argv[3]);
	set.query_timeout_ms = atoll(argv[4]);
	set.wait_timeout_ms = atoll(argv[5]);
	set.application_name = "db_probe";
	pool = db_pool_create(&set);

	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *fields[MAX_FIELDS], *save = NULL, *tok;
		unsigned int n = 0, i;
		int64_t start = monotonic_ms();

		line[strcspn(line, "\r\n")] = '\0';
		for (tok = strtok_r(line, "\t", &save); tok != NULL && n < MAX_FIELDS;
		     tok = strtok_r(NULL, "\t", &save))
			fields[n++] = tok;
		if (n == 0)
			continue;
		if (strcmp(fields[0], "quit") == 0)
			break;
		for (i = 0; i < ARRAY_SIZE(cmd_table); i++) {
			if (strcmp(fields[0], cmd_table[i].name) == 0)
				break;
		}
		if (i == ARRAY_SIZE(cmd_table) || n < cmd_table[i].min_fields)
			printf("ERROR 0 - bad command\n");
		else
			cmd_table[i].run(fields, n, start);
		fflush(stdout);
	}
	if (worker_count > 0) {
		atomic_store(&bg_stop_flag, 1);
		join_workers(monotonic_ms());
	}
	while (held_count > 0)
		db_release(&held[--held_count]);
	db_pool_destroy(&pool);
	return 0;
}
