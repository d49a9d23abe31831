/*
 * admin_sieve.c: `sluice-admin sieve list|show|put|activate|deactivate|delete`,
 * a mailbox's Sieve scripts for administrators.
 *
 * The same rules as ManageSieve (mda/sieved_scripts.c, shared with
 * sluice-sieved): script names by RFC 5804 1.6 and sieved_max_script_name,
 * sieve_max_script_size, every upload compiled by the delivery agent's
 * compiler first (its errors with their lines, one active script per mailbox,
 * and no change that would leave the active script unable to compile unless
 * --force). The per-user count limit (sieved_max_scripts) is for users, not
 * for administrators. Each change is one transaction, under the mailbox's
 * script lock, with its audit log row.
 */
#include "admin.h"
#include "admin_output.h"
#include "admin_sql.h"
#include "config.h"
#include "sieve_settings.h"
#include "sieved_scripts.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_ACTIVATE = 0x100, O_FORCE };

/* Compiler settings and the name limit from sluice.conf. */
struct sieve_admin {
	struct sieve_settings sieve;
	unsigned int max_name;
};

static int load_settings(struct admin_ctx *ctx, struct sieve_admin *sa)
{
	const char *error;
	int rc;

	if ((rc = admin_config(ctx)) != 0)
		return rc;
	if (sieve_settings_load(ctx->cfg, &sa->sieve, &error) < 0)
		return admin_error(EX_CONFIG, "%s", error);
	sa->max_name = (unsigned int)config_int(ctx->cfg, "sieved_max_script_name");
	return 0;
}

/* A failure of sieved_scripts.c as an error line and a sysexits code. */
static int store_error(struct admin_ctx *ctx, enum sieve_store_status st, const char *error,
                       const char *full, const char *name)
{
	const char *state = ctx->conn != NULL ? db_last_sqlstate(ctx->conn) : "";

	switch (st) {
	case SIEVE_STORE_NONEXISTENT:
		return admin_error(EX_NOUSER, "%s has no script named \"%s\"", full, name);
	case SIEVE_STORE_EXISTS:
		return admin_error(EX_CANTCREAT, "%s already has a script named \"%s\"", full,
		                   name);
	case SIEVE_STORE_ACTIVE:
		return admin_error(EX_DATAERR,
		                   "\"%s\" is the active script of %s (deactivate it first, or "
		                   "use --force)",
		                   name, full);
	case SIEVE_STORE_MAXSCRIPTS:
		return admin_error(EX_CANTCREAT, "%s has too many scripts", full);
	case SIEVE_STORE_TEMPFAIL:
		return admin_unavailable(error);
	default:
		if (strcmp(state, "42501") == 0)
			return admin_error(EX_NOPERM, "permission denied by the database: %s",
			                   error);
		if (strcmp(state, "42P01") == 0 || strcmp(state, "42703") == 0)
			return admin_error(EX_CONFIG,
			                   "database schema missing or too old: run 'sluice-admin "
			                   "db migrate' (%s)",
			                   error);
		return admin_error(EX_SOFTWARE, "database error %s: %s", state, error);
	}
}

/* Compiler errors, one per line, as one error line ("line 3, column 5: ...; ..."). */
static int compile_error(const char *what, struct sbuf *errors)
{
	for (size_t i = 0; i < errors->len; i++) {
		if (errors->data[i] == '\n')
			errors->data[i] = i + 1 < errors->len ? ';' : '\0';
	}
	return admin_error(EX_DATAERR, "%s does not compile: %s", what, sbuf_str(errors));
}

/* Read a script from a file, or stdin for "-"; at most max bytes. */
static int read_script(const char *path, size_t max, struct sbuf *out)
{
	switch (admin_read_file(path, max, out)) {
	case ADMIN_READ_OK:
		break;
	case ADMIN_READ_OPEN:
		return admin_error(EX_NOINPUT, "%s: %s", path, strerror(errno));
	case ADMIN_READ_TOO_BIG:
		return admin_error(EX_DATAERR, "%s: larger than sieve_max_script_size (%zu bytes)",
		                   path, max);
	case ADMIN_READ_ERROR:
		return admin_error(EX_IOERR, "%s: read error", path);
	}
	if (memchr(out->data, '\0', out->len) != NULL)
		return admin_error(EX_DATAERR, "%s: a Sieve script cannot contain NUL bytes", path);
	return 0;
}

/* Columns of show; list has all but the last (the content). */
static const struct out_col cols[] = {
    {"name", "NAME", OUT_TEXT, 0},       {"active", "ACTIVE", OUT_BOOL, 0},
    {"size", "SIZE", OUT_INT, 0},        {"modified", "MODIFIED", OUT_TEXT, 0},
    {"content", "CONTENT", OUT_TEXT, 0},
};
#define LIST_COLS (ARRAY_SIZE(cols) - 1)
/* clang-format off */
#define SCRIPT_COLUMNS "SELECT name, active, octet_length(content), " ADMIN_SQL_UTC("modified")

static const struct db_stmt stmt_list = {
    "admin_sieve_list",
    SCRIPT_COLUMNS " FROM sieve_scripts WHERE mailbox_id = $1 ORDER BY name"};
/* clang-format on */

static int cmd_list(struct admin_ctx *ctx, int argc, char **argv)
{
	char full[ADDR_BUFSZ], idbuf[ADMIN_I64_BUFSZ];
	struct out_list *list;
	PGresult *res;
	int64_t id;
	int rc;

	if ((rc = admin_no_options(ctx, &argc, &argv, 1, 1)) != 0 ||
	    (rc = admin_mailbox_arg(ctx, argv[0], full, &id)) != 0)
		return rc;
	const char *params[1] = {admin_i64(idbuf, id)};
	if ((rc = admin_exec(ctx, &stmt_list, 1, params, &res)) != 0)
		return rc;
	list = out_list_begin(ctx->json, cols, LIST_COLS);
	out_list_rows(list, res);
	out_list_end(&list);
	PQclear(res);
	return 0;
}

/* clang-format off */
/* The named script, or the active one when $2 is NULL. */
static const struct db_stmt stmt_show = {
    "admin_sieve_show", SCRIPT_COLUMNS ", content FROM sieve_scripts WHERE mailbox_id = $1"
    " AND CASE WHEN $2::text IS NULL THEN active ELSE name = $2::text END"};
/* clang-format on */

static int cmd_show(struct admin_ctx *ctx, int argc, char **argv)
{
	char full[ADDR_BUFSZ], idbuf[ADMIN_I64_BUFSZ];
	const char *name;
	PGresult *res;
	int64_t id;
	int rc;

	if ((rc = admin_no_options(ctx, &argc, &argv, 1, 2)) != 0 ||
	    (rc = admin_mailbox_arg(ctx, argv[0], full, &id)) != 0)
		return rc;
	name = argc > 1 ? argv[1] : NULL;
	const char *params[2] = {admin_i64(idbuf, id), name};
	if ((rc = admin_exec(ctx, &stmt_show, 2, params, &res)) != 0)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		if (name == NULL)
			return admin_error(EX_NOUSER, "%s has no active script", full);
		return admin_error(EX_NOUSER, "%s has no script named \"%s\"", full, name);
	}
	if (ctx->json)
		out_object(1, cols, ARRAY_SIZE(cols), res, 0);
	else
		fwrite(PQgetvalue(res, 0, 4), 1, (size_t)PQgetlength(res, 0, 4), stdout);
	PQclear(res);
	return 0;
}

/*
 * After a change in the transaction: the active script must still compile,
 * unless --force. EX_DATAERR naming it otherwise.
 */
static int check_active(const struct sieve_check *base, const char *except, int force)
{
	struct sbuf errors = {0};
	const char *error = NULL;
	char *active = NULL;
	int rc = 0;

	switch (sieve_check_active(base, except, &active, &errors, &error)) {
	case SIEVE_CHECK_OK:
		break;
	case SIEVE_CHECK_INVALID:
		if (force) {
			admin_note("the active script \"%s\" no longer compiles (--force)", active);
			break;
		}
		{
			char *what =
			    xasprintf("after this change, the active script \"%s\"", active);
			rc = compile_error(what, &errors);
			free(what);
			admin_note("--force makes the change anyway");
			break;
		}
	default:
		rc = admin_unavailable(error);
		break;
	}
	free(active);
	sbuf_free(&errors);
	return rc;
}

/* The script as delivery will run it must compile: EX_DATAERR with its errors otherwise. */
static int check_script(struct sieve_check *check, const char *content, size_t len,
                        struct sbuf *errors, struct sbuf *warnings)
{
	const char *error = NULL;

	switch (sieve_script_check(check, content, len, errors, warnings, &error)) {
	case SIEVE_CHECK_OK:
		return 0;
	case SIEVE_CHECK_INVALID:
		return compile_error(check->name, errors);
	default:
		return admin_unavailable(error);
	}
}

/* What the checks of a change to the scripts of mailbox id need (mode and name: the caller's). */
static struct sieve_check check_init(const struct admin_ctx *ctx, const struct sieve_admin *sa,
                                     int64_t id)
{
	struct sieve_check check = {
	    .conn = ctx->conn,
	    .mailbox_id = id,
	    .options = &sa->sieve.compile,
	    .global_dir = sa->sieve.global_dir,
	};

	return check;
}

/* The audit details of a change (size < 0, active < 0: not part of it), finished. */
static const char *audit_details(struct json_obj *d, const char *name, int64_t size, int active)
{
	json_obj_init(d);
	json_obj_str(d, "name", name);
	if (size >= 0)
		json_obj_int(d, "size", size);
	if (active >= 0)
		json_obj_bool(d, "active", active);
	return json_obj_finish(d);
}

static int cmd_put(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"activate", no_argument, NULL, O_ACTIVATE},
	    {"force", no_argument, NULL, O_FORCE},
	    ADMIN_COMMON_OPTIONS,
	};
	char full[ADDR_BUFSZ];
	struct sieve_admin sa = {0};
	struct sbuf script = {0}, errors = {0}, warnings = {0};
	struct json_obj details;
	struct sieve_check check;
	enum sieve_store_status st;
	const char *name, *why, *error = NULL;
	bool active = false, created = false;
	int c, rc, activate = 0, force = 0;
	int64_t id;

	while ((c = admin_getopt(ctx, argc, argv, ADMIN_COMMON_SHORTOPTS, longopts)) != -1) {
		if (c == O_ACTIVATE)
			activate = 1;
		else if (c == O_FORCE)
			force = 1;
		else
			return EX_USAGE;
	}
	if ((rc = admin_operands(ctx, &argc, &argv, 2, 3)) != 0 ||
	    (rc = load_settings(ctx, &sa)) != 0)
		return rc;
	name = argv[1];
	if ((why = sieve_script_name_check(name, strlen(name), sa.max_name)) != NULL) {
		rc = admin_error(EX_DATAERR, "invalid script name: %s", why);
		goto out;
	}
	if ((rc = read_script(argc > 2 ? argv[2] : "-", sa.sieve.compile.max_script_size,
	                      &script)) != 0 ||
	    (rc = admin_mailbox_arg(ctx, argv[0], full, &id)) != 0 || (rc = admin_begin(ctx)) != 0)
		goto out;
	check = check_init(ctx, &sa, id);
	check.name = name;
	if ((st = sieve_store_lock(ctx->conn, id, &error)) != SIEVE_STORE_OK ||
	    ((st = sieve_store_get(ctx->conn, id, name, NULL, NULL, &active, &error)) !=
	         SIEVE_STORE_OK &&
	     st != SIEVE_STORE_NONEXISTENT)) {
		rc = store_error(ctx, st, error, full, name);
		goto out;
	}
	/* what will run at delivery must compile with everything it includes */
	check.mode = active || activate ? SIEVE_CHECK_ACTIVATE : SIEVE_CHECK_UPLOAD;
	if ((rc = check_script(&check, script.data, script.len, &errors, &warnings)) != 0)
		goto out;
	st = sieve_store_put(ctx->conn, id, name, script.data, script.len, 0, &created, &error);
	if (st == SIEVE_STORE_OK && activate)
		st = sieve_store_activate(ctx->conn, id, name, &error);
	if (st != SIEVE_STORE_OK) {
		rc = store_error(ctx, st, error, full, name);
		goto out;
	}
	if ((rc = check_active(&check, name, force)) != 0)
		goto out;
	for (char *line = warnings.data; line != NULL && *line != '\0';) {
		char *end = strchr(line, '\n');
		if (end != NULL)
			*end = '\0';
		admin_note("%s", line);
		line = end != NULL ? end + 1 : NULL;
	}
	rc = admin_change(ctx, "sieve.put", full,
	                  audit_details(&details, name, (int64_t)script.len, active || activate),
	                  "%s script \"%s\" of %s (%zu bytes)%s", created ? "added" : "replaced",
	                  name, full, script.len,
	                  activate ? ", active"
	                  : active ? ", still active"
	                           : "");
	json_obj_free(&details);
out:
	sbuf_free(&script);
	sbuf_free(&errors);
	sbuf_free(&warnings);
	sieve_settings_free(&sa.sieve);
	return rc;
}

static int cmd_activate(struct admin_ctx *ctx, int argc, char **argv)
{
	char full[ADDR_BUFSZ], *content = NULL;
	struct sieve_admin sa = {0};
	struct sbuf errors = {0}, warnings = {0};
	struct json_obj details;
	struct sieve_check check;
	enum sieve_store_status st;
	const char *name, *error = NULL;
	size_t len = 0;
	int64_t id;
	int rc;

	if ((rc = admin_no_options(ctx, &argc, &argv, 2, 2)) != 0 ||
	    (rc = load_settings(ctx, &sa)) != 0)
		return rc;
	name = argv[1];
	if ((rc = admin_mailbox_arg(ctx, argv[0], full, &id)) != 0 || (rc = admin_begin(ctx)) != 0)
		goto out;
	check = check_init(ctx, &sa, id);
	check.mode = SIEVE_CHECK_ACTIVATE;
	check.name = name;
	if ((st = sieve_store_lock(ctx->conn, id, &error)) != SIEVE_STORE_OK ||
	    (st = sieve_store_get(ctx->conn, id, name, &content, &len, NULL, &error)) !=
	        SIEVE_STORE_OK) {
		rc = store_error(ctx, st, error, full, name);
		goto out;
	}
	if ((rc = check_script(&check, content, len, &errors, &warnings)) != 0)
		goto out;
	if ((st = sieve_store_activate(ctx->conn, id, name, &error)) != SIEVE_STORE_OK) {
		rc = store_error(ctx, st, error, full, name);
		goto out;
	}
	rc = admin_change(ctx, "sieve.activate", full, audit_details(&details, name, -1, 1),
	                  "activated script \"%s\" of %s", name, full);
	json_obj_free(&details);
out:
	free(content);
	sbuf_free(&errors);
	sbuf_free(&warnings);
	sieve_settings_free(&sa.sieve);
	return rc;
}

static int cmd_deactivate(struct admin_ctx *ctx, int argc, char **argv)
{
	char full[ADDR_BUFSZ], *active = NULL;
	struct json_obj details;
	enum sieve_store_status st;
	const char *error = NULL;
	int64_t id;
	int rc;

	if ((rc = admin_no_options(ctx, &argc, &argv, 1, 1)) != 0 ||
	    (rc = admin_mailbox_arg(ctx, argv[0], full, &id)) != 0 || (rc = admin_begin(ctx)) != 0)
		return rc;
	if ((st = sieve_store_lock(ctx->conn, id, &error)) != SIEVE_STORE_OK ||
	    (st = sieve_store_active_name(ctx->conn, id, &active, &error)) != SIEVE_STORE_OK ||
	    (active != NULL &&
	     (st = sieve_store_activate(ctx->conn, id, NULL, &error)) != SIEVE_STORE_OK)) {
		free(active);
		return store_error(ctx, st, error, full, "");
	}
	if (active == NULL) {
		/* Nothing changed: no audit row, and the open transaction is rolled back. */
		char *msg = xasprintf("%s has no active script", full);
		out_change(ctx->json, msg, "sieve.deactivate", full, "{}");
		free(msg);
		return 0;
	}
	rc = admin_change(ctx, "sieve.deactivate", full, audit_details(&details, active, -1, 0),
	                  "deactivated script \"%s\" of %s", active, full);
	json_obj_free(&details);
	free(active);
	return rc;
}

static int cmd_delete(struct admin_ctx *ctx, int argc, char **argv)
{
	char full[ADDR_BUFSZ];
	struct sieve_admin sa = {0};
	struct json_obj details;
	struct sieve_check check;
	enum sieve_store_status st;
	const char *name, *error = NULL;
	bool active = false;
	int64_t id;
	int rc, force = 0;

	if ((rc = admin_flag_option(ctx, &argc, &argv, "force", '\0', &force, 2, 2)) != 0 ||
	    (rc = load_settings(ctx, &sa)) != 0)
		return rc;
	name = argv[1];
	if ((rc = admin_mailbox_arg(ctx, argv[0], full, &id)) != 0 || (rc = admin_begin(ctx)) != 0)
		goto out;
	check = check_init(ctx, &sa, id);
	if ((st = sieve_store_lock(ctx->conn, id, &error)) != SIEVE_STORE_OK ||
	    (st = sieve_store_get(ctx->conn, id, name, NULL, NULL, &active, &error)) !=
	        SIEVE_STORE_OK ||
	    (st = sieve_store_delete(ctx->conn, id, name, force, &error)) != SIEVE_STORE_OK) {
		rc = store_error(ctx, st, error, full, name);
		goto out;
	}
	if ((rc = check_active(&check, NULL, force)) != 0)
		goto out;
	rc = admin_change(ctx, "sieve.delete", full, audit_details(&details, name, -1, active),
	                  "deleted script \"%s\" of %s%s", name, full,
	                  active ? " (it was active: no script runs now)" : "");
	json_obj_free(&details);
out:
	sieve_settings_free(&sa.sieve);
	return rc;
}

const struct admin_cmd admin_sieve_cmds[] = {
    {"sieve", "list", cmd_list, "MAILBOX", "List a mailbox's Sieve scripts",
     "Lists the scripts of MAILBOX by name, with the one that runs at delivery\n"
     "marked active.\n"},
    {"sieve", "show", cmd_show, "MAILBOX [NAME]", "Print a Sieve script",
     "Prints the script NAME of MAILBOX as stored, or its active script when\n"
     "NAME is left out. With --json, an object with the name, state and content.\n"},
    {"sieve", "put", cmd_put, "MAILBOX NAME [FILE|-] [--activate] [--force]",
     "Store a Sieve script",
     "Stores FILE (standard input when it is '-' or left out) as the script NAME\n"
     "of MAILBOX, replacing a script of that name (which stays active if it was).\n"
     "It is compiled first, as delivery will run it; errors name their line.\n"
     "A script it includes that does not exist yet is a note, unless the script\n"
     "is or becomes active.\n\n"
     "Options:\n"
     "  --activate   make it the active script too\n"
     "  --force      store it even if the active script would no longer compile\n"},
    {"sieve", "activate", cmd_activate, "MAILBOX NAME", "Make a script the active one",
     "Makes NAME the one script of MAILBOX that runs at delivery (the previous\n"
     "active script stays stored). It must compile, with everything it includes.\n"},
    {"sieve", "deactivate", cmd_deactivate, "MAILBOX", "Switch Sieve filtering off",
     "Deactivates the active script of MAILBOX; mail is then delivered to the\n"
     "inbox. The scripts stay stored.\n"},
    {"sieve", "delete", cmd_delete, "MAILBOX NAME [--force]", "Delete a Sieve script",
     "Deletes the script NAME of MAILBOX. The active script, or one the active\n"
     "script includes, only with --force.\n\n"
     "Options:\n  --force   delete it even so\n"},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
