/*
 * admin_alias_domain.c: `sluice-admin alias-domain add|list|delete`.
 *
 * An alias domain makes user@NAME mean user@TARGET for every local part. Its
 * name may be neither a domain nor another alias domain (an advisory lock
 * serializes this with `domain add`), and its target must be a real domain,
 * so alias domains never chain. Adding one can turn destinations that were
 * remote into local ones, so the aliases naming such destinations go through
 * the loop check before the change commits.
 */
#include "admin.h"
#include "admin_output.h"
#include "admin_sql.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_stmt stmt_insert = {
    "admin_alias_domain_insert",
    "INSERT INTO alias_domains (name, target_domain_id, active) VALUES ($1, $2, $3)"};
/* The aliases whose destinations the new alias domain makes local. */
static const struct db_stmt stmt_affected = {
    "admin_alias_domain_affected",
    "SELECT DISTINCT a.local_part || '@' || d.name FROM alias_destinations x"
    " JOIN aliases a ON a.id = x.alias_id JOIN domains d ON d.id = a.domain_id"
    " WHERE lower(substring(x.destination FROM '@([^@]*)$')) = $1"};

static int cmd_add(struct admin_ctx *ctx, int argc, char **argv)
{
	char name[ADDR_DOMAIN_BUFSZ], target[ADDR_DOMAIN_BUFSZ], idbuf[ADMIN_I64_BUFSZ];
	char existing[ADDR_DOMAIN_BUFSZ];
	struct admin_domain t;
	struct json_obj details;
	const char **seeds = NULL;
	PGresult *res = NULL;
	int rc, inactive = 0, n, is_domain;

	if ((rc = admin_flag_option(ctx, &argc, &argv, "inactive", '\0', &inactive, 2, 2)) != 0 ||
	    (rc = admin_parse_domain(argv[0], name)) != 0 ||
	    (rc = admin_parse_domain(argv[1], target)) != 0)
		return rc;
	if (strcmp(name, target) == 0)
		return admin_error(EX_DATAERR, "an alias domain cannot point to itself");
	if ((rc = admin_begin(ctx)) != 0 ||
	    (rc = admin_domain_name_owner(ctx, name, existing, &is_domain)) != 0)
		return rc;
	if (existing[0] != '\0')
		return admin_error(EX_CANTCREAT, "alias domain %s already exists (for %s)", name,
		                   existing);
	/* The name may not be one of our domains. */
	if (is_domain)
		return admin_error(EX_CANTCREAT,
		                   "%s is already a domain; delete it first to make "
		                   "it an alias domain",
		                   name);
	if ((rc = admin_domain_get(ctx, target, 1, &t)) != 0)
		return rc;
	const char *p1[1] = {name};
	const char *pi[3] = {name, admin_i64(idbuf, t.id), inactive ? "false" : "true"};
	if ((rc = admin_exec(ctx, &stmt_insert, 3, pi, NULL)) != 0 ||
	    (rc = admin_exec(ctx, &stmt_affected, 1, p1, &res)) != 0)
		return rc;
	n = PQntuples(res);
	seeds = xcalloc((size_t)n + 1, sizeof(*seeds));
	for (int i = 0; i < n; i++)
		seeds[i] = PQgetvalue(res, i, 0);
	rc = admin_check_loops(ctx, seeds, (unsigned)n);
	free(seeds);
	PQclear(res);
	if (rc != 0)
		return rc;
	json_obj_init(&details);
	json_obj_str(&details, "target", target);
	json_obj_bool(&details, "active", !inactive);
	rc = admin_change(ctx, "alias_domain.add", name, json_obj_finish(&details),
	                  "added alias domain %s -> %s", name, target);
	json_obj_free(&details);
	return rc;
}

static const struct out_col cols[] = {
    {"name", "ALIAS-DOMAIN", OUT_TEXT, 0},
    {"target", "TARGET", OUT_TEXT, 0},
    {"active", "ACTIVE", OUT_BOOL, 0},
    {"created", "CREATED", OUT_TEXT, 0},
};

/* clang-format off */
#define AD_SELECT                                                                                  \
	"SELECT a.name, d.name, a.active, " ADMIN_SQL_UTC("a.created") ", a.name"                    \
	" FROM alias_domains a JOIN domains d ON d.id = a.target_domain_id"
/* clang-format on */

static const struct db_stmt stmt_list = {"admin_alias_domain_list",
                                         AD_SELECT " WHERE a.name > $1 ORDER BY a.name LIMIT $2"};
static const struct db_stmt stmt_list_target = {
    "admin_alias_domain_list_target",
    AD_SELECT " WHERE a.target_domain_id = $1 AND a.name > $2 ORDER BY a.name LIMIT $3"};

static int cmd_list(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    ADMIN_OPTION_DOMAIN,
	    ADMIN_OPTION_LIMIT,
	    ADMIN_COMMON_OPTIONS,
	};
	static const char *const initial[1] = {""};
	struct admin_list_opts o;
	int rc;

	if ((rc = admin_list_options(ctx, argc, argv, longopts, &o)) != 0 ||
	    (rc = admin_operands(ctx, &argc, &argv, 0, 0)) != 0)
		return rc;
	if (o.domain == NULL)
		return admin_list(ctx, NULL, &stmt_list, NULL, 0, initial, 1, cols,
		                  ARRAY_SIZE(cols), o.limit, NULL);
	return admin_list_domain(ctx, o.domain, NULL, &stmt_list_target, initial, 1, cols,
	                         ARRAY_SIZE(cols), o.limit);
}

static const struct db_stmt stmt_delete = {"admin_alias_domain_delete",
                                           "DELETE FROM alias_domains WHERE name = $1"};

static int cmd_delete(struct admin_ctx *ctx, int argc, char **argv)
{
	char name[ADDR_DOMAIN_BUFSZ], target[ADDR_DOMAIN_BUFSZ];
	struct json_obj details;
	int rc;

	if ((rc = admin_no_options(ctx, &argc, &argv, 1, 1)) != 0 ||
	    (rc = admin_parse_domain(argv[0], name)) != 0)
		return rc;
	if ((rc = admin_begin(ctx)) != 0 || (rc = admin_lock_domain_names(ctx)) != 0 ||
	    (rc = admin_alias_domain_target(ctx, name, target)) != 0)
		return rc;
	if (target[0] == '\0')
		return admin_error(EX_NOUSER, "no such alias domain: %s", name);
	const char *p1[1] = {name};
	if ((rc = admin_exec(ctx, &stmt_delete, 1, p1, NULL)) != 0)
		return rc;
	json_obj_init(&details);
	json_obj_str(&details, "target", target);
	rc = admin_change(ctx, "alias_domain.delete", name, json_obj_finish(&details),
	                  "deleted alias domain %s (of %s)", name, target);
	json_obj_free(&details);
	return rc;
}

const struct admin_cmd admin_alias_domain_cmds[] = {
    {"alias-domain", "add", cmd_add, "NAME TARGET [--inactive]", "Add an alias domain",
     "Makes every address user@NAME an alias of user@TARGET. NAME may not already\n"
     "be a domain or an alias domain; TARGET must be an existing domain.\n\n"
     "Options:\n  --inactive   add it switched off\n"},
    {"alias-domain", "list", cmd_list, "[--domain TARGET] [--limit N]", "List alias domains",
     "Lists alias domains and their targets, by name.\n\n"
     "Options:\n"
     "  --domain TARGET   only the alias domains of TARGET\n"
     "  --limit N         stop after N alias domains\n"},
    {"alias-domain", "delete", cmd_delete, "NAME", "Delete an alias domain",
     "Deletes an alias domain; mail to its addresses is refused afterwards. Its\n"
     "target domain is not touched.\n"},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
