/*
 * admin_db.c: `sluice-admin db migrate` and `db status`, over the migration
 * runner (lib/migrate.c) and the migrations built into this binary.
 *
 * Migrations create tables and roles, so they connect with
 * db_migrate_url (the database owner) when it is set, else with the
 * usual admin_db_url / db_url. Each migration commits on its own; after any
 * were applied one audit row records them.
 */
#include "admin.h"
#include "admin_output.h"
#include "admin_sql.h"
#include "config.h"
#include "migrate.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int migrate_failure(struct admin_ctx *ctx, enum db_status st, const char *error)
{
	const char *state = db_last_sqlstate(ctx->conn);

	if (st == DB_TEMPFAIL)
		return admin_unavailable(error);
	if (strcmp(state, "42501") == 0)
		return admin_error(EX_NOPERM,
		                   "%s (migrations need the database owner with CREATEROLE: set "
		                   "db_migrate_url)",
		                   error);
	return admin_error(EX_SOFTWARE, "migration failed: %s", error);
}

/* Use the owner's connection string for schema changes when one is configured. */
static int owner_conn(struct admin_ctx *ctx)
{
	int rc;

	if ((rc = admin_config(ctx)) != 0)
		return rc;
	if (config_str(ctx->cfg, "db_migrate_url")[0] != '\0')
		ctx->conninfo = config_str(ctx->cfg, "db_migrate_url");
	return admin_conn(ctx);
}

struct applied {
	const char **names;
	unsigned n;
};

static void report_applied(const struct migration *m, void *context)
{
	struct applied *a = context;

	a->names = xrealloc(a->names, (a->n + 1) * sizeof(*a->names));
	a->names[a->n++] = m->name;
}

static int cmd_migrate(struct admin_ctx *ctx, int argc, char **argv)
{
	struct applied a = {0};
	unsigned int applied = 0, version = 0;
	struct json_obj details;
	const char *error = NULL;
	enum db_status st;
	int rc;

	if ((rc = admin_no_options(ctx, &argc, &argv, 0, 0)) != 0 || (rc = owner_conn(ctx)) != 0)
		return rc;
	st = migrate_apply(ctx->conn, report_applied, &a, &applied, &version, &error);
	if (st != DB_OK) {
		/* Those applied before the failure stay applied: say which. */
		for (unsigned i = 0; i < a.n; i++)
			admin_note("applied %s", a.names[i]);
		free(a.names);
		return migrate_failure(ctx, st, error);
	}
	json_obj_init(&details);
	json_obj_int(&details, "version", version);
	json_obj_int(&details, "applied", applied);
	json_obj_strv(&details, "migrations", a.names, a.n);
	json_obj_finish(&details);
	if (applied > 0) {
		if ((rc = admin_begin(ctx)) != 0 ||
		    (rc = admin_audit(ctx, "db.migrate", "database", sbuf_str(&details.buf))) !=
		        0 ||
		    (rc = admin_commit(ctx)) != 0)
			admin_note("the migrations were applied; only their audit row is missing");
	}
	if (ctx->json) {
		puts(sbuf_str(&details.buf));
	} else {
		for (unsigned i = 0; i < a.n; i++)
			printf("applied %s\n", a.names[i]);
		printf("database at version %u, applied %u migration%s\n", version, applied,
		       applied == 1 ? "" : "s");
	}
	json_obj_free(&details);
	free(a.names);
	return rc;
}

static int cmd_status(struct admin_ctx *ctx, int argc, char **argv)
{
	struct migration_state *states = NULL;
	unsigned int count = 0, pending = 0, newer = 0;
	const char *error = NULL;
	enum db_status st;
	int rc;

	if ((rc = admin_no_options(ctx, &argc, &argv, 0, 0)) != 0 || (rc = owner_conn(ctx)) != 0)
		return rc;
	st = migrate_status(ctx->conn, &states, &count, &error);
	if (st != DB_OK)
		return migrate_failure(ctx, st, error);
	if (ctx->json)
		fputs("[", stdout);
	else
		printf("%-8s %-40s %s\n", "VERSION", "NAME", "APPLIED");
	for (unsigned i = 0; i < count; i++) {
		const struct migration_state *s = &states[i];

		pending += s->embedded && !s->applied;
		newer += s->applied && !s->embedded;
		if (ctx->json) {
			struct json_obj o;

			json_obj_init(&o);
			json_obj_int(&o, "version", s->version);
			json_obj_str(&o, "name", s->name);
			json_obj_bool(&o, "embedded", s->embedded);
			json_obj_bool(&o, "applied", s->applied);
			json_obj_str(&o, "applied_at", s->applied ? s->applied_at : NULL);
			printf("%s\n%s", i > 0 ? "," : "", json_obj_finish(&o));
			json_obj_free(&o);
		} else {
			printf("%04u     %-40s %s%s\n", s->version, s->name,
			       s->applied ? s->applied_at : "pending",
			       s->embedded ? "" : " (unknown to this sluice-admin: newer)");
		}
	}
	if (ctx->json)
		fputs(count > 0 ? "\n]\n" : "]\n", stdout);
	else if (pending > 0)
		printf("%u migration%s pending: run 'sluice-admin db migrate'\n", pending,
		       pending == 1 ? "" : "s");
	if (!ctx->json && newer > 0)
		printf("the database has %u migration%s newer than this sluice-admin\n", newer,
		       newer == 1 ? "" : "s");
	free(states);
	return 0;
}

const struct admin_cmd admin_db_cmds[] = {
    {"db", "migrate", cmd_migrate, "", "Create or upgrade the database schema",
     "Applies the schema migrations built into sluice-admin that the database\n"
     "does not have yet, each in its own transaction, and prints the version\n"
     "reached. Running it again changes nothing. It connects with\n"
     "db_migrate_url (the database owner, which may create roles) when set,\n"
     "else with admin_db_url or db_url.\n"},
    {"db", "status", cmd_status, "", "Show which schema migrations are applied",
     "Lists every migration known to this binary or recorded in the database,\n"
     "with the time it was applied, or 'pending'. Changes nothing.\n"},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
