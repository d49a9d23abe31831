/*
 * migrate.c: apply the numbered schema migrations and report their state
 * (see migrate.h).
 *
 * Owns the table schema_migrations and nothing else in the database; the
 * migrations' own SQL comes from schema/ through the generated
 * schema_migrations[] array and is trusted (it is part of the build). Every
 * transaction here first takes one advisory lock (transaction-scoped, so a
 * crashed run cannot leave it held), which makes two concurrent runs against
 * the same database take turns: the second sees the first one's rows and
 * skips those versions. Runs through the pool's prepared statements, so every
 * step has the pool's deadlines.
 */
#include "migrate.h"

#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "sluiceMg": the advisory lock key every migration run takes. */
#define MIGRATE_LOCK_KEY "8317151707346062695"

static const struct db_stmt stmt_lock = {"migrate_lock",
                                         "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")"};
static const struct db_stmt stmt_table_exists = {
    "migrate_table_exists", "SELECT to_regclass('schema_migrations') IS NOT NULL"};
static const struct db_stmt stmt_versions = {
    "migrate_versions", "SELECT version FROM schema_migrations ORDER BY version"};
static const struct db_stmt stmt_recorded = {"migrate_recorded",
                                             "SELECT 1 FROM schema_migrations WHERE version = $1"};
static const struct db_stmt stmt_record = {
    "migrate_record", "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)"};
static const struct db_stmt stmt_current = {
    "migrate_current", "SELECT coalesce(max(version), 0) FROM schema_migrations"};
static const struct db_stmt stmt_states = {
    "migrate_states", "SELECT version, name, "
                      "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC' "
                      "FROM schema_migrations ORDER BY version"};

/* Made by the first run. Anyone may read the schema version (a daemon checking it at start). */
static const char create_table_sql[] = "CREATE TABLE schema_migrations ("
                                       " version integer PRIMARY KEY CHECK (version > 0),"
                                       " name text NOT NULL,"
                                       " applied_at timestamptz NOT NULL DEFAULT now());"
                                       "GRANT SELECT ON schema_migrations TO PUBLIC";

const struct migration *migrate_embedded(unsigned int *count_r)
{
	*count_r = schema_migrations_count;
	return schema_migrations;
}

/* Run a statement whose one-row, one-column answer we want as a number. */
static enum db_status query_uint(struct db_conn *conn, const struct db_stmt *stmt, int nparams,
                                 const char *const *params, unsigned int *value_r,
                                 const char **error_r)
{
	PGresult *res;
	enum db_status status;

	status = db_exec(conn, stmt, nparams, params, &res, error_r);
	if (status != DB_OK)
		return status;
	*value_r = PQntuples(res) > 0 ? (unsigned int)strtoul(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	return DB_OK;
}

/* Is schema_migrations there? (to_regclass answers "t"/"f") */
static enum db_status table_exists(struct db_conn *conn, int *exists_r, const char **error_r)
{
	PGresult *res;
	enum db_status status;

	status = db_exec(conn, &stmt_table_exists, 0, NULL, &res, error_r);
	if (status != DB_OK)
		return status;
	*exists_r = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return DB_OK;
}

/* BEGIN and take the migration lock; rolled back on failure. */
static enum db_status begin_locked(struct db_conn *conn, const char **error_r)
{
	PGresult *res;
	enum db_status status;

	status = db_begin(conn, error_r);
	if (status != DB_OK)
		return status;
	status = db_exec(conn, &stmt_lock, 0, NULL, &res, error_r);
	if (status != DB_OK) {
		db_rollback(conn);
		return status;
	}
	PQclear(res);
	return DB_OK;
}

/* Create the version table if needed and read the recorded versions. */
static enum db_status read_recorded(struct db_conn *conn, unsigned int **versions_r,
                                    unsigned int *count_r, const char **error_r)
{
	PGresult *res;
	enum db_status status;
	unsigned int i, n;
	int exists;

	*versions_r = NULL;
	*count_r = 0;
	if ((status = begin_locked(conn, error_r)) != DB_OK)
		return status;
	if ((status = table_exists(conn, &exists, error_r)) != DB_OK)
		goto fail;
	if (!exists && (status = db_exec_simple(conn, create_table_sql, error_r)) != DB_OK) {
		*error_r = errorf("creating schema_migrations: %s", *error_r);
		goto fail;
	}
	if ((status = db_exec(conn, &stmt_versions, 0, NULL, &res, error_r)) != DB_OK)
		goto fail;
	n = (unsigned int)PQntuples(res);
	*versions_r = xcalloc(n + 1, sizeof(unsigned int));
	for (i = 0; i < n; i++)
		(*versions_r)[i] = (unsigned int)strtoul(PQgetvalue(res, (int)i, 0), NULL, 10);
	*count_r = n;
	PQclear(res);
	if ((status = db_commit(conn, error_r)) != DB_OK) {
		free(*versions_r);
		*versions_r = NULL;
		*count_r = 0;
	}
	return status;

fail:
	db_rollback(conn);
	return status;
}

static int recorded(const unsigned int *versions, unsigned int count, unsigned int version)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (versions[i] == version)
			return 1;
	}
	return 0;
}

/* Run a statement whose result we do not need. */
static enum db_status exec_discard(struct db_conn *conn, const struct db_stmt *stmt, int nparams,
                                   const char *const *params, const char **error_r)
{
	PGresult *res;
	enum db_status status;

	status = db_exec(conn, stmt, nparams, params, &res, error_r);
	if (status == DB_OK)
		PQclear(res);
	return status;
}

/*
 * Apply one migration in its own transaction with its version row. *done_r
 * is 0 when a concurrent run had applied it first. Errors name the file.
 */
static enum db_status apply_one(struct db_conn *conn, const struct migration *m, int *done_r,
                                const char **error_r)
{
	char version[16], *error_copy;
	const char *params[2];
	enum db_status status;
	unsigned int already = 0;

	*done_r = 0;
	snprintf(version, sizeof(version), "%u", m->version);
	params[0] = version;
	params[1] = m->name;
	if ((status = begin_locked(conn, error_r)) != DB_OK)
		goto fail;
	if ((status = query_uint(conn, &stmt_recorded, 1, params, &already, error_r)) != DB_OK)
		goto fail;
	if (!already) {
		if ((status = db_exec_simple(conn, m->sql, error_r)) != DB_OK)
			goto fail;
		if ((status = exec_discard(conn, &stmt_record, 2, params, error_r)) != DB_OK)
			goto fail;
	}
	if ((status = db_commit(conn, error_r)) != DB_OK) {
		/* a connection lost during COMMIT leaves the outcome unknown */
		if (status == DB_TEMPFAIL)
			*error_r = errorf("%s: %s (COMMIT unconfirmed: run migrate again)", m->name,
			                  *error_r);
		else
			*error_r = errorf("%s: %s (nothing of it was applied)", m->name, *error_r);
		return status;
	}
	*done_r = !already;
	return DB_OK;

fail:
	/* ROLLBACK runs a statement, which may overwrite the thread's errorf buffer */
	error_copy = xstrdup(*error_r);
	db_rollback(conn);
	*error_r = errorf("%s: %s (nothing of it was applied)", m->name, error_copy);
	free(error_copy);
	return status;
}

enum db_status migrate_apply_list(struct db_conn *conn, const struct migration *list,
                                  unsigned int count, migrate_report_fn *report, void *context,
                                  unsigned int *applied_r, unsigned int *current_version_r,
                                  const char **error_r)
{
	unsigned int *versions, nversions, i;
	enum db_status status;
	int done;

	*applied_r = 0;
	*current_version_r = 0;
	for (i = 0; i < count; i++) {
		if (list[i].version == 0 || (i > 0 && list[i].version <= list[i - 1].version)) {
			*error_r = errorf("%s: migrations out of order or repeated", list[i].name);
			return DB_ERROR;
		}
	}
	status = read_recorded(conn, &versions, &nversions, error_r);
	if (status != DB_OK)
		return status;
	for (i = 0; i < count; i++) {
		if (recorded(versions, nversions, list[i].version))
			continue;
		status = apply_one(conn, &list[i], &done, error_r);
		if (status != DB_OK) {
			log_warn("schema migration failed: %s", *error_r);
			break;
		}
		if (!done)
			continue;
		(*applied_r)++;
		log_info("schema migration %s applied", list[i].name);
		if (report != NULL)
			report(&list[i], context);
	}
	free(versions);
	if (status != DB_OK)
		return status;
	return migrate_current_version(conn, current_version_r, error_r);
}

enum db_status migrate_apply(struct db_conn *conn, migrate_report_fn *report, void *context,
                             unsigned int *applied_r, unsigned int *current_version_r,
                             const char **error_r)
{
	return migrate_apply_list(conn, schema_migrations, schema_migrations_count, report, context,
	                          applied_r, current_version_r, error_r);
}

enum db_status migrate_current_version(struct db_conn *conn, unsigned int *version_r,
                                       const char **error_r)
{
	enum db_status status;
	int exists;

	*version_r = 0;
	status = table_exists(conn, &exists, error_r);
	if (status != DB_OK || !exists)
		return status;
	return query_uint(conn, &stmt_current, 0, NULL, version_r, error_r);
}

enum db_status migrate_status(struct db_conn *conn, struct migration_state **states_r,
                              unsigned int *count_r, const char **error_r)
{
	struct migration_state *states, *st;
	PGresult *res = NULL;
	enum db_status status;
	unsigned int e = 0, r = 0, n = 0, nrec = 0, version;
	int exists;

	*states_r = NULL;
	*count_r = 0;
	status = table_exists(conn, &exists, error_r);
	if (status != DB_OK)
		return status;
	if (exists) {
		status = db_exec(conn, &stmt_states, 0, NULL, &res, error_r);
		if (status != DB_OK)
			return status;
		nrec = (unsigned int)PQntuples(res);
	}
	states = xcalloc(schema_migrations_count + nrec + 1, sizeof(*states));
	/* merge the two version-ordered lists */
	while (e < schema_migrations_count || r < nrec) {
		unsigned int rec_version =
		    r < nrec ? (unsigned int)strtoul(PQgetvalue(res, (int)r, 0), NULL, 10) : 0;

		st = &states[n++];
		if (r >= nrec ||
		    (e < schema_migrations_count && schema_migrations[e].version <= rec_version))
			version = schema_migrations[e].version;
		else
			version = rec_version;
		st->version = version;
		if (e < schema_migrations_count && schema_migrations[e].version == version) {
			st->embedded = 1;
			snprintf(st->name, sizeof(st->name), "%s", schema_migrations[e].name);
			e++;
		}
		if (r < nrec && rec_version == version) {
			st->applied = 1;
			if (!st->embedded)
				snprintf(st->name, sizeof(st->name), "%s",
				         PQgetvalue(res, (int)r, 1));
			snprintf(st->applied_at, sizeof(st->applied_at), "%s",
			         PQgetvalue(res, (int)r, 2));
			r++;
		}
	}
	PQclear(res);
	*states_r = states;
	*count_r = n;
	return DB_OK;
}
