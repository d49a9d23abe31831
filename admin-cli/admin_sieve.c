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

int admin_sieve_mailbox(struct admin_ctx *ctx, const char *text, char *full, int64_t *id_r)
{
	struct mail_address addr;
	struct admin_domain d;
	int rc;

	if ((rc = admin_parse_address(text, 0, &addr)) != 0)
		return rc;
	addr_format(&addr, full);
	if ((rc = admin_domain_get(ctx, addr.domain, 0, &d)) != 0 ||
	    (rc = admin_mailbox_id(ctx, d.id, addr.local, id_r)) != 0)
		return rc;
	if (*id_r == 0)
		return admin_error(EX_NOUSER, "no such mailbox: %s", full);
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
		return admin_error(EX_TEMPFAIL, "database unavailable, try again later: %s", error);
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
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char buf[8192];
	size_t n;

	if (f == NULL)
		return admin_error(EX_NOINPUT, "%s: %s", path, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (out->len + n > max) {
			if (f != stdin)
				fclose(f);
			return admin_error(EX_DATAERR,
			                   "%s: larger than sieve_max_script_size (%zu bytes)",
			                   path, max);
		}
		sbuf_append(out, buf, n);
	}
	if (ferror(f)) {
		if (f != stdin)
			fclose(f);
		return admin_error(EX_IOERR, "%s: read error", path);
	}
	if (f != stdin)
		fclose(f);
	sbuf_append(out, "", 0);
	if (memchr(out->data, '\0', out->len) != NULL)
		return admin_error(EX_DATAERR, "%s: a Sieve script cannot contain NUL bytes", path);
	return 0;
}

static const struct out_col list_cols[] = {
    {"name", "NAME", OUT_TEXT, 0},
    {"active", "ACTIVE", OUT_BOOL, 0},
    {"size", "SIZE", OUT_INT, 0},
    {"modified", "MODIFIED", OUT_TEXT, 0},
};

static const struct db_stmt stmt_list = {
    "admin_sieve_list", "SELECT name, active, octet_length(content),"
                        " to_char(modified AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                        " FROM sieve_scripts WHERE mailbox_id = $1 ORDER BY name"};

static int cmd_list(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {ADMIN_COMMON_OPTIONS};
	char full[ADDR_BUFSZ], idbuf[ADMIN_I64_BUFSZ];
	struct out_list *list;
	PGresult *res;
	int64_t id;
	int c, rc;

	while ((c = admin_getopt(ctx, argc, argv, ADMIN_COMMON_SHORTOPTS, longopts)) != -1)
		return EX_USAGE;
	argc -= optind;
	argv += optind;
	if ((rc = admin_nargs(ctx, argc, 1, 1)) != 0 ||
	    (rc = admin_sieve_mailbox(ctx, argv[0], full, &id)) != 0)
		return rc;
	const char *params[1] = {admin_i64(idbuf, id)};
	if ((rc = admin_exec(ctx, &stmt_list, 1, params, &res)) != 0)
		return rc;
	list = out_list_begin(ctx->json, list_cols, ARRAY_SIZE(list_cols));
	out_list_rows(list, res);
	out_list_end(&list);
	PQclear(res);
	return 0;
}

static const struct out_col show_cols[] = {
    {"name", "NAME", OUT_TEXT, 0},       {"active", "ACTIVE", OUT_BOOL, 0},
    {"size", "SIZE", OUT_INT, 0},        {"modified", "MODIFIED", OUT_TEXT, 0},
    {"content", "CONTENT", OUT_TEXT, 0},
};

/* The named script, or the active one when $2 is NULL. */
static const struct db_stmt stmt_show = {
    "admin_sieve_show",
    "SELECT name, active, octet_length(content),"
    " to_char(modified AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), content"
    " FROM sieve_scripts WHERE mailbox_id = $1"
    " AND CASE WHEN $2::text IS NULL THEN active ELSE name = $2::text END"};

static int cmd_show(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {ADMIN_COMMON_OPTIONS};
	char full[ADDR_BUFSZ], idbuf[ADMIN_I64_BUFSZ];
	const char *name;
	PGresult *res;
	int64_t id;
	int c, rc;

	while ((c = admin_getopt(ctx, argc, argv, ADMIN_COMMON_SHORTOPTS, longopts)) != -1)
		return EX_USAGE;
	argc -= optind;
	argv += optind;
	if ((rc = admin_nargs(ctx, argc, 1, 2)) != 0 ||
	    (rc = admin_sieve_mailbox(ctx, argv[0], full, &id)) != 0)
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
		out_object(1, show_cols, ARRAY_SIZE(show_cols), res, 0);
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
		rc = admin_error(EX_TEMPFAIL, "database unavailable, try again later: %s", error);
		break;
	}
	free(active);
	sbuf_free(&errors);
	return rc;
}

static void audit_details(struct json_obj *d, const char *name, int64_t size, int active)
{
	json_obj_init(d);
	json_obj_str(d, "name", name);
	if (size >= 0)
		json_obj_int(d, "size", size);
	if (active >= 0)
		json_obj_bool(d, "active", active);
	json_obj_finish(d);
}

static int finish(struct admin_ctx *ctx, const char *action, const char *full,
                  struct json_obj *details, char *message)
{
	int rc;

	if ((rc = admin_audit(ctx, action, full, sbuf_str(&details->buf))) == 0 &&
	    (rc = admin_commit(ctx)) == 0)
		out_change(ctx->json, message, action, full, sbuf_str(&details->buf));
	json_obj_free(details);
	free(message);
	return rc;
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
	argc -= optind;
	argv += optind;
	if ((rc = admin_nargs(ctx, argc, 2, 3)) != 0 || (rc = load_settings(ctx, &sa)) != 0)
		return rc;
	name = argv[1];
	if ((why = sieve_script_name_check(name, strlen(name), sa.max_name)) != NULL) {
		rc = admin_error(EX_DATAERR, "invalid script name: %s", why);
		goto out;
	}
	if ((rc = read_script(argc > 2 ? argv[2] : "-", sa.sieve.compile.max_script_size,
	                      &script)) != 0 ||
	    (rc = admin_sieve_mailbox(ctx, argv[0], full, &id)) != 0 ||
	    (rc = admin_begin(ctx)) != 0)
		goto out;
	struct sieve_check check = {
	    .conn = ctx->conn,
	    .mailbox_id = id,
	    .options = &sa.sieve.compile,
	    .global_dir = sa.sieve.global_dir,
	    .name = name,
	};
	if ((st = sieve_store_lock(ctx->conn, id, &error)) != SIEVE_STORE_OK ||
	    ((st = sieve_store_get(ctx->conn, id, name, NULL, NULL, &active, &error)) !=
	         SIEVE_STORE_OK &&
	     st != SIEVE_STORE_NONEXISTENT)) {
		rc = store_error(ctx, st, error, full, name);
		goto out;
	}
	/* what will run at delivery must compile with everything it includes */
	check.mode = active || activate ? SIEVE_CHECK_ACTIVATE : SIEVE_CHECK_UPLOAD;
	switch (sieve_script_check(&check, script.data, script.len, &errors, &warnings, &error)) {
	case SIEVE_CHECK_OK:
		break;
	case SIEVE_CHECK_INVALID:
		rc = compile_error(name, &errors);
		goto out;
	default:
		rc = admin_error(EX_TEMPFAIL, "database unavailable, try again later: %s", error);
		goto out;
	}
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
	audit_details(&details, name, (int64_t)script.len, active || activate);
	rc = finish(ctx, "sieve.put", full, &details,
	            xasprintf("%s script \"%s\" of %s (%zu bytes)%s",
	                      created ? "added" : "replaced", name, full, script.len,
	                      activate ? ", active"
	                      : active ? ", still active"
	                               : ""));
out:
	sbuf_free(&script);
	sbuf_free(&errors);
	sbuf_free(&warnings);
	sieve_settings_free(&sa.sieve);
	return rc;
}

static int cmd_activate(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {ADMIN_COMMON_OPTIONS};
	char full[ADDR_BUFSZ], *content = NULL;
	struct sieve_admin sa = {0};
	struct sbuf errors = {0}, warnings = {0};
	struct json_obj details;
	enum sieve_store_status st;
	const char *name, *error = NULL;
	size_t len = 0;
	int64_t id;
	int c, rc;

	while ((c = admin_getopt(ctx, argc, argv, ADMIN_COMMON_SHORTOPTS, longopts)) != -1)
		return EX_USAGE;
	argc -= optind;
	argv += optind;
	if ((rc = admin_nargs(ctx, argc, 2, 2)) != 0 || (rc = load_settings(ctx, &sa)) != 0)
		return rc;
	name = argv[1];
	if ((rc = admin_sieve_mailbox(ctx, argv[0], full, &id)) != 0 ||
	    (rc = admin_begin(ctx)) != 0)
		goto out;
	struct sieve_check check = {
	    .conn = ctx->conn,
	    .mailbox_id = id,
	    .options = &sa.sieve.compile,
	    .global_dir = sa.sieve.global_dir,
	    .mode = SIEVE_CHECK_ACTIVATE,
	    .name = name,
	};
	if ((st = sieve_store_lock(ctx->conn, id, &error)) != SIEVE_STORE_OK ||
	    (st = sieve_store_get(ctx->conn, id, name, &content, &len, NULL, &error)) !=
	        SIEVE_STORE_OK) {
		rc = store_error(ctx, st, error, full, name);
		goto out;
	}
	switch (sieve_script_check(&check, content, len, &errors, &warnings, &error)) {
	case SIEVE_CHECK_OK:
		break;
	case SIEVE_CHECK_INVALID:
		rc = compile_error(name, &errors);
		goto out;
	default:
		rc = admin_error(EX_TEMPFAIL, "database unavailable, try again later: %s", error);
		goto out;
	}
	if ((st = sieve_store_activate(ctx->conn, id, name, &error)) != SIEVE_STORE_OK) {
		rc = store_error(ctx, st, error, full, name);
		goto out;
	}
	audit_details(&details, name, -1, 1);
	rc = finish(ctx, "sieve.activate", full, &details,
	            xasprintf("activated script \"%s\" of %s", name, full));
out:
	free(content);
	sbuf_free(&errors);
	sbuf_free(&warnings);
	sieve_settings_free(&sa.sieve);
	return rc;
}

static int cmd_deactivate(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {ADMIN_COMMON_OPTIONS};
	char full[ADDR_BUFSZ], *active = NULL;
	struct json_obj details;
	enum sieve_store_status st;
	const char *error = NULL;
	int64_t id;
	int c, rc;

	while ((c = admin_getopt(ctx, argc, argv, ADMIN_COMMON_SHORTOPTS, longopts)) != -1)
		return EX_USAGE;
	argc -= optind;
	argv += optind;
	if ((rc = admin_nargs(ctx, argc, 1, 1)) != 0 ||
	    (rc = admin_sieve_mailbox(ctx, argv[0], full, &id)) != 0 ||
	    (rc = admin_begin(ctx)) != 0)
		return rc;
	if ((st = sieve_store_lock(ctx->conn, id, &error)) != SIEVE_STORE_OK ||
	    (st = sieve_store_active_name(ctx->conn, id, &active, &error)) != SIEVE_STORE_OK ||
	    (active != NULL &&
	     (st = sieve_store_activate(ctx->conn, id, NULL, &error)) != SIEVE_STORE_OK)) {
		free(active);
		return store_error(ctx, st, error, full, "");
	}
	if (active == NULL) {
		char *msg = xasprintf("%s has no active script", full);
		out_change(ctx->json, msg, "sieve.deactivate", full, "{}");
		free(msg);
		return 0;
	}
	audit_details(&details, active, -1, 0);
	rc = finish(ctx, "sieve.deactivate", full, &details,
	            xasprintf("deactivated script \"%s\" of %s", active, full));
	free(active);
	return rc;
}

static int cmd_delete(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"force", no_argument, NULL, O_FORCE},
	    ADMIN_COMMON_OPTIONS,
	};
	char full[ADDR_BUFSZ];
	struct sieve_admin sa = {0};
	struct json_obj details;
	enum sieve_store_status st;
	const char *name, *error = NULL;
	bool active = false;
	int64_t id;
	int c, rc, force = 0;

	while ((c = admin_getopt(ctx, argc, argv, ADMIN_COMMON_SHORTOPTS, longopts)) != -1) {
		if (c != O_FORCE)
			return EX_USAGE;
		force = 1;
	}
	argc -= optind;
	argv += optind;
	if ((rc = admin_nargs(ctx, argc, 2, 2)) != 0 || (rc = load_settings(ctx, &sa)) != 0)
		return rc;
	name = argv[1];
	if ((rc = admin_sieve_mailbox(ctx, argv[0], full, &id)) != 0 ||
	    (rc = admin_begin(ctx)) != 0)
		goto out;
	struct sieve_check check = {
	    .conn = ctx->conn,
	    .mailbox_id = id,
	    .options = &sa.sieve.compile,
	    .global_dir = sa.sieve.global_dir,
	};
	if ((st = sieve_store_lock(ctx->conn, id, &error)) != SIEVE_STORE_OK ||
	    (st = sieve_store_get(ctx->conn, id, name, NULL, NULL, &active, &error)) !=
	        SIEVE_STORE_OK ||
	    (st = sieve_store_delete(ctx->conn, id, name, force, &error)) != SIEVE_STORE_OK) {
		rc = store_error(ctx, st, error, full, name);
		goto out;
	}
	if ((rc = check_active(&check, NULL, force)) != 0)
		goto out;
	audit_details(&details, name, -1, active);
	rc = finish(ctx, "sieve.delete", full, &details,
	            xasprintf("deleted script \"%s\" of %s%s", name, full,
	                      active ? " (it was active: no script runs now)" : ""));
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
