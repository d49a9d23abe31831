/*
 * admin_domain.c: `sluice-admin domain add|list|show|edit|delete`.
 *
 * A domain carries the limits PostfixAdmin knows: max mailboxes, max aliases,
 * a quota for the sum of its mailboxes' quotas and the quota a new mailbox
 * gets. Changing a limit locks the domain row and refuses a limit below what
 * is already in use. Deleting a domain takes its mailboxes, aliases and alias
 * domains out of the database in one transaction and leaves the mail files on
 * disk (it says where); without --yes it only says what it would remove.
 */
#include "admin.h"
#include "admin_output.h"
#include "admin_sql.h"
#include "config.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESCRIPTION_MAX 255

enum {
	O_DESCRIPTION = 0x100,
	O_MAX_MAILBOXES,
	O_MAX_ALIASES,
	O_QUOTA,
	O_DEFAULT_QUOTA,
	O_BACKUP_MX,
	O_INACTIVE,
	O_ACTIVE,
};

/* The options of add and edit for the description and the limits (LIMIT_HELP). */
/* clang-format off */
#define LIMIT_OPTIONS                                                                              \
	{"description", required_argument, NULL, O_DESCRIPTION},                                   \
	{"max-mailboxes", required_argument, NULL, O_MAX_MAILBOXES},                               \
	{"max-aliases", required_argument, NULL, O_MAX_ALIASES},                                   \
	{"quota", required_argument, NULL, O_QUOTA},                                               \
	{"default-mailbox-quota", required_argument, NULL, O_DEFAULT_QUOTA}
/* clang-format on */

/* The settable fields of a domain, each with a flag saying whether it was given. */
struct domain_fields {
	const char *description;
	int64_t max_mailboxes, max_aliases, quota, default_quota;
	int backup_mx, active;
	int set_description, set_max_mailboxes, set_max_aliases, set_quota, set_default_quota,
	    set_backup_mx, set_active;
};

/* One option of add or edit; EX_USAGE for an option this command does not know. */
static int domain_option(struct domain_fields *f, int c, int editing)
{
	int rc = 0;

	switch (c) {
	case O_DESCRIPTION:
		f->description = optarg;
		f->set_description = 1;
		return admin_check_text("--description", optarg, DESCRIPTION_MAX);
	case O_MAX_MAILBOXES:
		f->set_max_mailboxes = 1;
		return admin_parse_count("--max-mailboxes", optarg, 1, &f->max_mailboxes);
	case O_MAX_ALIASES:
		f->set_max_aliases = 1;
		return admin_parse_count("--max-aliases", optarg, 1, &f->max_aliases);
	case O_QUOTA:
		f->set_quota = 1;
		return admin_parse_size("--quota", optarg, &f->quota);
	case O_DEFAULT_QUOTA:
		f->set_default_quota = 1;
		return admin_parse_size("--default-mailbox-quota", optarg, &f->default_quota);
	case O_BACKUP_MX:
		f->set_backup_mx = 1;
		if (!editing) {
			f->backup_mx = 1;
			return 0;
		}
		return admin_parse_bool("--backup-mx", optarg, &f->backup_mx);
	case O_INACTIVE:
		f->set_active = 1;
		f->active = 0;
		return 0;
	case O_ACTIVE:
		f->set_active = 1;
		return admin_parse_bool("--active", optarg, &f->active);
	default:
		rc = EX_USAGE;
	}
	return rc;
}

/* The domain's own limits must fit together: a default mailbox quota within the domain quota. */
static int check_quota_pair(int64_t quota, int64_t default_quota)
{
	char q[32], dq[32];

	if (quota > 0 && default_quota > quota) {
		admin_format_size(quota, 1, q, sizeof(q));
		admin_format_size(default_quota, 1, dq, sizeof(dq));
		return admin_error(EX_DATAERR,
		                   "default mailbox quota %s is larger than the domain quota %s",
		                   dq, q);
	}
	return 0;
}

/* The options of add or edit (longopts), then the domain's name into name. */
static int domain_args(struct admin_ctx *ctx, int *argc, char ***argv,
                       const struct option *longopts, int editing, struct domain_fields *f,
                       char *name)
{
	int c, rc;

	while ((c = admin_getopt(ctx, *argc, *argv, ADMIN_COMMON_SHORTOPTS, longopts)) != -1) {
		if (c == '?' || (rc = domain_option(f, c, editing)) == EX_USAGE)
			return EX_USAGE;
		if (rc != 0)
			return rc;
	}
	if ((rc = admin_operands(ctx, argc, argv, 1, 1)) != 0)
		return rc;
	return admin_parse_domain((*argv)[0], name);
}

/* The fields given (all of them for add), as the details of the change; finished. */
static const char *fields_json(struct json_obj *o, const struct domain_fields *f)
{
	json_obj_init(o);
	if (f->set_description)
		json_obj_str(o, "description", f->description);
	if (f->set_max_mailboxes)
		json_obj_int(o, "max_mailboxes", f->max_mailboxes);
	if (f->set_max_aliases)
		json_obj_int(o, "max_aliases", f->max_aliases);
	if (f->set_quota)
		json_obj_int(o, "quota_bytes", f->quota);
	if (f->set_default_quota)
		json_obj_int(o, "default_mailbox_quota_bytes", f->default_quota);
	if (f->set_backup_mx)
		json_obj_bool(o, "backup_mx", f->backup_mx);
	if (f->set_active)
		json_obj_bool(o, "active", f->active);
	return json_obj_finish(o);
}

static const struct db_stmt stmt_domain_insert = {
    "admin_domain_insert",
    "INSERT INTO domains (name, description, max_mailboxes, max_aliases, quota_bytes,"
    " default_mailbox_quota_bytes, backup_mx, active)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"};

static int cmd_add(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    LIMIT_OPTIONS,
	    {"backup-mx", no_argument, NULL, O_BACKUP_MX},
	    {"inactive", no_argument, NULL, O_INACTIVE},
	    ADMIN_COMMON_OPTIONS,
	};
	struct domain_fields f = {.description = "", .active = 1};
	char name[ADDR_DOMAIN_BUFSZ], target[ADDR_DOMAIN_BUFSZ], b[4][ADMIN_I64_BUFSZ];
	struct json_obj details;
	int rc, is_domain;

	if ((rc = domain_args(ctx, &argc, &argv, longopts, 0, &f, name)) != 0 ||
	    (rc = check_quota_pair(f.quota, f.default_quota)) != 0)
		return rc;

	if ((rc = admin_begin(ctx)) != 0 ||
	    (rc = admin_domain_name_owner(ctx, name, target, &is_domain)) != 0)
		return rc;
	if (target[0] != '\0')
		return admin_error(EX_CANTCREAT, "%s is already an alias domain of %s", name,
		                   target);
	if (is_domain)
		return admin_error(EX_CANTCREAT, "domain %s already exists", name);
	const char *params[8] = {
	    name,
	    f.description,
	    admin_i64(b[0], f.max_mailboxes),
	    admin_i64(b[1], f.max_aliases),
	    admin_i64(b[2], f.quota),
	    admin_i64(b[3], f.default_quota),
	    f.backup_mx ? "true" : "false",
	    f.active ? "true" : "false",
	};
	if ((rc = admin_exec(ctx, &stmt_domain_insert, 8, params, NULL)) != 0)
		return rc;
	f.set_description = f.set_max_mailboxes = f.set_max_aliases = f.set_quota = 1;
	f.set_default_quota = f.set_backup_mx = f.set_active = 1;
	rc = admin_change(ctx, "domain.add", name, fields_json(&details, &f), "added domain %s",
	                  name);
	json_obj_free(&details);
	return rc;
}

/* Columns of domain list and show; the show-only ones are OUT_DETAIL in lists. */
static const struct out_col list_cols[] = {
    {"name", "DOMAIN", OUT_TEXT, 0},
    {"description", "DESCRIPTION", OUT_TEXT, OUT_DETAIL},
    {"active", "ACTIVE", OUT_BOOL, 0},
    {"backup_mx", "BACKUP-MX", OUT_BOOL, OUT_DETAIL},
    {"mailboxes", "MAILBOXES", OUT_INT, 0},
    {"max_mailboxes", "MAX-MAILBOXES", OUT_INT, OUT_UNLIMITED},
    {"aliases", "ALIASES", OUT_INT, 0},
    {"max_aliases", "MAX-ALIASES", OUT_INT, OUT_UNLIMITED},
    {"quota_bytes", "QUOTA", OUT_SIZE, OUT_UNLIMITED},
    {"default_mailbox_quota_bytes", "MAILBOX-QUOTA", OUT_SIZE, OUT_UNLIMITED},
    {"created", "CREATED", OUT_TEXT, OUT_DETAIL},
};

/* clang-format off */
#define DOMAIN_COLUMNS                                                                             \
	"d.name, d.description, d.active, d.backup_mx,"                                            \
	" (SELECT count(*) FROM mailboxes m WHERE m.domain_id = d.id),"                            \
	" d.max_mailboxes, (SELECT count(*) FROM aliases a WHERE a.domain_id = d.id),"             \
	" d.max_aliases, d.quota_bytes, d.default_mailbox_quota_bytes, " ADMIN_SQL_UTC("d.created")
/* clang-format on */

static const struct db_stmt stmt_domain_list = {
    "admin_domain_list", "SELECT " DOMAIN_COLUMNS ", d.name FROM domains d WHERE d.name > $1"
                         " ORDER BY d.name LIMIT $2"};

static int cmd_list(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    ADMIN_OPTION_LIMIT,
	    ADMIN_COMMON_OPTIONS,
	};
	static const char *const initial[1] = {""};
	struct admin_list_opts o;
	int rc;

	if ((rc = admin_list_options(ctx, argc, argv, longopts, &o)) != 0 ||
	    (rc = admin_operands(ctx, &argc, &argv, 0, 0)) != 0)
		return rc;
	return admin_list(ctx, NULL, &stmt_domain_list, NULL, 0, initial, 1, list_cols,
	                  ARRAY_SIZE(list_cols), o.limit, NULL);
}

static const struct out_col show_cols[] = {
    {"name", "", OUT_TEXT, 0},
    {"description", "", OUT_TEXT, 0},
    {"active", "", OUT_BOOL, 0},
    {"backup_mx", "", OUT_BOOL, 0},
    {"mailboxes", "", OUT_INT, 0},
    {"max_mailboxes", "", OUT_INT, OUT_UNLIMITED},
    {"aliases", "", OUT_INT, 0},
    {"max_aliases", "", OUT_INT, OUT_UNLIMITED},
    {"quota_bytes", "", OUT_SIZE, OUT_UNLIMITED},
    {"default_mailbox_quota_bytes", "", OUT_SIZE, OUT_UNLIMITED},
    {"created", "", OUT_TEXT, 0},
    {"modified", "", OUT_TEXT, 0},
    {"quota_allocated_bytes", "", OUT_SIZE, 0},
    {"quota_used_bytes", "", OUT_SIZE, 0},
    {"alias_domains", "", OUT_LIST, 0},
};

/* clang-format off */
static const struct db_stmt stmt_domain_show = {
    "admin_domain_show",
    "SELECT " DOMAIN_COLUMNS ", " ADMIN_SQL_UTC("d.modified") ","
    " (SELECT coalesce(sum(m.quota_bytes), 0) FROM mailboxes m WHERE m.domain_id = d.id),"
    " (SELECT coalesce(sum(q.bytes), 0) FROM mailboxes m JOIN quota_usage q"
    "   ON q.mailbox_id = m.id WHERE m.domain_id = d.id),"
    " (SELECT coalesce(string_agg(a.name, E'\\n' ORDER BY a.name), '') FROM alias_domains a"
    "   WHERE a.target_domain_id = d.id)"
    " FROM domains d WHERE d.name = $1"};
/* clang-format on */

static int cmd_show(struct admin_ctx *ctx, int argc, char **argv)
{
	char name[ADDR_DOMAIN_BUFSZ];
	struct admin_domain d;
	int rc;

	if ((rc = admin_no_options(ctx, &argc, &argv, 1, 1)) != 0 ||
	    (rc = admin_parse_domain(argv[0], name)) != 0)
		return rc;
	/* First for its hint when the name is an alias domain. */
	if ((rc = admin_domain_get(ctx, name, 0, &d)) != 0)
		return rc;
	const char *params[1] = {name};
	return admin_show(ctx, &stmt_domain_show, 1, params, show_cols, ARRAY_SIZE(show_cols),
	                  "no such domain: %s", name);
}

static const struct db_stmt stmt_domain_usage = {
    "admin_domain_usage",
    "SELECT (SELECT count(*) FROM mailboxes WHERE domain_id = $1),"
    " (SELECT count(*) FROM aliases WHERE domain_id = $1),"
    " (SELECT coalesce(sum(quota_bytes), 0) FROM mailboxes WHERE domain_id = $1),"
    " (SELECT count(*) FROM mailboxes WHERE domain_id = $1 AND quota_bytes = 0),"
    " (SELECT count(*) FROM alias_domains WHERE target_domain_id = $1)"};

/* What a domain holds: counts and the sum of its mailbox quotas. */
struct domain_usage {
	int64_t mailboxes, aliases, allocated, unlimited, alias_domains;
};

static int domain_usage(struct admin_ctx *ctx, int64_t id, struct domain_usage *u)
{
	char idbuf[ADMIN_I64_BUFSZ];
	const char *params[1] = {admin_i64(idbuf, id)};
	PGresult *res;
	int rc;

	if ((rc = admin_exec(ctx, &stmt_domain_usage, 1, params, &res)) != 0)
		return rc;
	u->mailboxes = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	u->aliases = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	u->allocated = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	u->unlimited = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	u->alias_domains = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	PQclear(res);
	return 0;
}

static const struct db_stmt stmt_domain_update = {
    "admin_domain_update",
    "UPDATE domains SET description = $2, max_mailboxes = $3, max_aliases = $4,"
    " quota_bytes = $5, default_mailbox_quota_bytes = $6, backup_mx = $7, active = $8,"
    " modified = now() WHERE id = $1"};

/* New limits may not be below what the domain already uses. */
static int check_new_limits(const char *name, const struct admin_domain *n,
                            const struct domain_usage *u)
{
	char a[32], b[32];

	if (n->max_mailboxes > 0 && u->mailboxes > n->max_mailboxes)
		return admin_error(EX_DATAERR,
		                   "%s has %" PRId64 " mailboxes, more than a limit of %" PRId64,
		                   name, u->mailboxes, n->max_mailboxes);
	if (n->max_aliases > 0 && u->aliases > n->max_aliases)
		return admin_error(EX_DATAERR,
		                   "%s has %" PRId64 " aliases, more than a limit of %" PRId64,
		                   name, u->aliases, n->max_aliases);
	if (n->quota_bytes > 0 && u->unlimited > 0)
		return admin_error(EX_DATAERR,
		                   "%s has %" PRId64
		                   " mailboxes without a quota; give each a quota "
		                   "before the domain gets one",
		                   name, u->unlimited);
	if (n->quota_bytes > 0 && u->allocated > n->quota_bytes) {
		admin_format_size(u->allocated, 0, a, sizeof(a));
		admin_format_size(n->quota_bytes, 0, b, sizeof(b));
		return admin_error(EX_DATAERR,
		                   "the mailboxes of %s have quotas of %s in all, more than a "
		                   "domain quota of %s",
		                   name, a, b);
	}
	return check_quota_pair(n->quota_bytes, n->default_mailbox_quota_bytes);
}

static int cmd_edit(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    LIMIT_OPTIONS,
	    {"backup-mx", required_argument, NULL, O_BACKUP_MX},
	    {"active", required_argument, NULL, O_ACTIVE},
	    ADMIN_COMMON_OPTIONS,
	};
	static const struct db_stmt stmt_description = {
	    "admin_domain_description", "SELECT description FROM domains WHERE id = $1"};
	struct domain_fields f = {0};
	char name[ADDR_DOMAIN_BUFSZ], b[5][ADMIN_I64_BUFSZ];
	struct admin_domain d;
	struct domain_usage u;
	struct json_obj details;
	char *description;
	PGresult *res;
	int rc;

	if ((rc = domain_args(ctx, &argc, &argv, longopts, 1, &f, name)) != 0)
		return rc;
	if (!f.set_description && !f.set_max_mailboxes && !f.set_max_aliases && !f.set_quota &&
	    !f.set_default_quota && !f.set_backup_mx && !f.set_active)
		return admin_usage(ctx, "nothing to change");

	if ((rc = admin_begin(ctx)) != 0 || (rc = admin_domain_get(ctx, name, 1, &d)) != 0 ||
	    (rc = domain_usage(ctx, d.id, &u)) != 0)
		return rc;
	const char *p1[1] = {admin_i64(b[0], d.id)};
	if ((rc = admin_exec(ctx, &stmt_description, 1, p1, &res)) != 0)
		return rc;
	description = xstrdup(f.set_description ? f.description : PQgetvalue(res, 0, 0));
	PQclear(res);
	if (f.set_max_mailboxes)
		d.max_mailboxes = f.max_mailboxes;
	if (f.set_max_aliases)
		d.max_aliases = f.max_aliases;
	if (f.set_quota)
		d.quota_bytes = f.quota;
	if (f.set_default_quota)
		d.default_mailbox_quota_bytes = f.default_quota;
	if (f.set_backup_mx)
		d.backup_mx = f.backup_mx;
	if (f.set_active)
		d.active = f.active;
	if ((rc = check_new_limits(name, &d, &u)) != 0) {
		free(description);
		return rc;
	}
	const char *params[8] = {
	    admin_i64(b[0], d.id),
	    description,
	    admin_i64(b[1], d.max_mailboxes),
	    admin_i64(b[2], d.max_aliases),
	    admin_i64(b[3], d.quota_bytes),
	    admin_i64(b[4], d.default_mailbox_quota_bytes),
	    d.backup_mx ? "true" : "false",
	    d.active ? "true" : "false",
	};
	rc = admin_exec(ctx, &stmt_domain_update, 8, params, NULL);
	free(description);
	if (rc != 0)
		return rc;
	rc = admin_change(ctx, "domain.edit", name, fields_json(&details, &f), "changed domain %s",
	                  name);
	json_obj_free(&details);
	return rc;
}

/* Mailboxes first: their folders, messages, quota rows and Sieve scripts go by cascade. */
static const struct db_stmt stmt_delete_aliases = {"admin_domain_delete_aliases",
                                                   "DELETE FROM aliases WHERE domain_id = $1"};
static const struct db_stmt stmt_delete_mailboxes = {"admin_domain_delete_mailboxes",
                                                     "DELETE FROM mailboxes WHERE domain_id = $1"};
static const struct db_stmt stmt_delete_alias_domains = {
    "admin_domain_delete_alias_domains", "DELETE FROM alias_domains WHERE target_domain_id = $1"};
static const struct db_stmt stmt_delete_domain = {"admin_domain_delete",
                                                  "DELETE FROM domains WHERE id = $1"};

static int cmd_delete(struct admin_ctx *ctx, int argc, char **argv)
{
	char name[ADDR_DOMAIN_BUFSZ], idbuf[ADMIN_I64_BUFSZ], *files;
	struct admin_domain d;
	struct domain_usage u;
	struct json_obj details;
	int rc, yes = 0;

	if ((rc = admin_flag_option(ctx, &argc, &argv, "yes", 'y', &yes, 1, 1)) != 0 ||
	    (rc = admin_parse_domain(argv[0], name)) != 0)
		return rc;
	if ((rc = admin_begin(ctx)) != 0 || (rc = admin_domain_get(ctx, name, 1, &d)) != 0 ||
	    (rc = domain_usage(ctx, d.id, &u)) != 0)
		return rc;
	files = xasprintf("%s/%s/", config_str(ctx->cfg, "mail_root"), name);
	const char *p1[1] = {admin_i64(idbuf, d.id)};
	if ((rc = admin_confirm(yes,
	                        "domain %s has %" PRId64 " mailboxes, %" PRId64
	                        " aliases and %" PRId64 " alias domains; deleting it removes "
	                        "them all from the database and leaves the mail files under %s "
	                        "on disk",
	                        name, u.mailboxes, u.aliases, u.alias_domains, files)) != 0 ||
	    (rc = admin_exec(ctx, &stmt_delete_aliases, 1, p1, NULL)) != 0 ||
	    (rc = admin_exec(ctx, &stmt_delete_mailboxes, 1, p1, NULL)) != 0 ||
	    (rc = admin_exec(ctx, &stmt_delete_alias_domains, 1, p1, NULL)) != 0 ||
	    (rc = admin_exec(ctx, &stmt_delete_domain, 1, p1, NULL)) != 0) {
		free(files);
		return rc;
	}
	json_obj_init(&details);
	json_obj_int(&details, "mailboxes", u.mailboxes);
	json_obj_int(&details, "aliases", u.aliases);
	json_obj_int(&details, "alias_domains", u.alias_domains);
	json_obj_str(&details, "mail_files_left", files);
	rc = admin_change(ctx, "domain.delete", name, json_obj_finish(&details),
	                  "deleted domain %s with %" PRId64 " mailboxes, %" PRId64
	                  " aliases and %" PRId64 " alias domains; the mail files under %s "
	                  "are left on disk",
	                  name, u.mailboxes, u.aliases, u.alias_domains, files);
	json_obj_free(&details);
	free(files);
	return rc;
}

#define LIMIT_HELP                                                                                 \
	"  --description TEXT            a note for administrators (255 bytes at most)\n"          \
	"  --max-mailboxes N             at most N mailboxes (0: no limit)\n"                      \
	"  --max-aliases N               at most N aliases, catch-all included (0: no limit)\n"    \
	"  --quota SIZE                  the sum of the mailbox quotas may not exceed SIZE\n"      \
	"                                (e.g. 10G; 0: no limit)\n"                                \
	"  --default-mailbox-quota SIZE  quota of a mailbox added without --quota\n"

const struct admin_cmd admin_domain_cmds[] = {
    {"domain", "add", cmd_add, "NAME [options]", "Add a domain",
     "NAME is a domain name; an internationalized name is stored in its A-label\n"
     "(xn--) form. It may not already be a domain or an alias domain.\n\n"
     "Options:\n" LIMIT_HELP
     "  --backup-mx                   accept mail for the domain and relay it to its\n"
     "                                next MX instead of delivering it here\n"
     "  --inactive                    add it switched off (mail is refused)\n"},
    {"domain", "list", cmd_list, "[--limit N]", "List the domains",
     "Lists every domain with its mailbox and alias counts and limits, by name.\n"
     "--json adds the description, the backup-MX flag and the creation time.\n\n"
     "Options:\n  --limit N   stop after N domains\n"},
    {"domain", "show", cmd_show, "NAME", "Show a domain",
     "Shows a domain's settings, its counts, the quota given to its mailboxes\n"
     "(allocated) and used by them, and its alias domains.\n"},
    {"domain", "edit", cmd_edit, "NAME [options]", "Change a domain's settings or limits",
     "Changes only what is given. A limit below what the domain already uses\n"
     "is refused (and a domain quota needs every mailbox to have a quota).\n\n"
     "Options:\n" LIMIT_HELP "  --backup-mx yes|no            relay instead of delivering\n"
     "  --active yes|no               switch the domain on or off\n"},
    {"domain", "delete", cmd_delete, "NAME --yes", "Delete a domain and all it holds",
     "Deletes the domain, its mailboxes (with their folders, message index, quota\n"
     "and Sieve scripts), its aliases and its alias domains from the database, in\n"
     "one transaction. The mail files under mail_root/NAME/ are left on disk for\n"
     "the administrator to archive or remove. Without --yes nothing is deleted:\n"
     "the command says what it would remove and exits with 64.\n\n"
     "Options:\n  -y, --yes   really delete\n"},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
