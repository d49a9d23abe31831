/*
 * migrate.h: the schema migration runner behind `sluice-admin db migrate` and
 * `db status`.
 *
 * Migrations are the files schema/NNNN_name.sql, embedded at build time by
 * schema/embed.py. Each runs in its own transaction together with its row in
 * schema_migrations(version, name, applied_at); a transaction-scoped advisory
 * lock serializes concurrent runs against one database, and versions already
 * recorded are skipped, so running migrate twice is a no-op. A migration that
 * fails rolls back entirely (its row included) and the error names its file.
 * Results use enum db_status: DB_TEMPFAIL when the database is unavailable or
 * timed out (try again), DB_ERROR when a migration itself is wrong.
 */
#ifndef SLUICE_MIGRATE_H
#define SLUICE_MIGRATE_H

#include "db.h"

struct migration {
	unsigned int version; /* NNNN of the file name */
	const char *name;     /* the file name, "0001_initial.sql" */
	const char *sql;      /* one or more statements */
};

/* Defined by the file schema/embed.py generates; use migrate_embedded(). */
extern const struct migration schema_migrations[];
extern const unsigned int schema_migrations_count;

/* The migrations built into this binary, in version order. */
const struct migration *migrate_embedded(unsigned int *count_r);

/* Called after each migration that was applied (committed). */
typedef void migrate_report_fn(const struct migration *migration, void *context);

/*
 * Apply every embedded migration not yet recorded. *applied_r is how many
 * were applied now (0 when the schema was up to date), *current_version_r the
 * highest recorded version afterwards. report may be NULL. The connection
 * must not be inside a transaction.
 */
enum db_status migrate_apply(struct db_conn *conn, migrate_report_fn *report, void *context,
                             unsigned int *applied_r, unsigned int *current_version_r,
                             const char **error_r);
/* The same with another list (sorted by version, versions unique); for tests. */
enum db_status migrate_apply_list(struct db_conn *conn, const struct migration *list,
                                  unsigned int count, migrate_report_fn *report, void *context,
                                  unsigned int *applied_r, unsigned int *current_version_r,
                                  const char **error_r);

/* The highest recorded version; 0 when none or schema_migrations does not exist. */
enum db_status migrate_current_version(struct db_conn *conn, unsigned int *version_r,
                                       const char **error_r);

/* One line of `db status`: an embedded migration, a recorded one, or both. */
struct migration_state {
	unsigned int version;
	char name[128];      /* the embedded file name, else the recorded one */
	int embedded;        /* built into this binary */
	int applied;         /* recorded in schema_migrations */
	char applied_at[40]; /* "2024-05-01 12:00:00+00" when applied, else "" */
};

/*
 * The state of every embedded or recorded version, in version order, in a
 * new array to free(). A recorded version that is not embedded means the
 * database is newer than this binary. Changes nothing in the database.
 */
enum db_status migrate_status(struct db_conn *conn, struct migration_state **states_r,
                              unsigned int *count_r, const char **error_r);

#endif
