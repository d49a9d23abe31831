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

enum { O_DOMAIN = 0x100, O_LIMIT, O_INACTIVE };

static const struct db_stmt stmt_get = {
    "admin_alias_domain_get",
    "SELECT a.id, d.name FROM alias_domains a JOIN domains d ON d.id = a.target_domain_id"
    " WHERE a.name = $1"};
static const struct db_stmt stmt_is_domain = {"admin_alias_domain_is_domain",
                                              "SELECT 1 FROM domains WHERE name = $1"};
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
	static const struct option longopts[] = {
	    {"inactive", no_argument, NULL, O_INACTIVE},
	    ADMIN_COMMON_OPTIONS,
	};
	char name[ADDR_DOMAIN_BUFSZ], target[ADDR_DOMAIN_BUFSZ], idbuf[ADMIN_I64_BUFSZ];
	struct admin_domain t;
	struct json_obj details;
	const char **seeds = NULL;
	PGresult *res = NULL;
	int c, rc, active = 1, n;

	while ((c = admin_getopt(ctx, argc, argv, ADMIN_COMMON_SHORTOPTS, longopts)) != -1) {
		if (c != O_INACTIVE)
			return EX_USAGE;
		active = 0;
	}
	argc -= optind;
	argv += optind;
	if ((rc = admin_nargs(ctx, argc, 2, 2)) != 0 ||
	    (rc = admin_parse_domain(argv[0], name)) != 0 ||
	    (rc = admin_parse_domain(argv[1], target)) != 0)
		return rc;
	if (strcmp(name, target) == 0)
		return admin_error(EX_DATAERR, "an alias domain cannot point to itself");
	if ((rc = admin_begin(ctx)) != 0 || (rc = admin_lock_domain_names(ctx)) != 0)
		return rc;
	const char *p1[1] = {name};
	if ((rc = admin_exec(ctx, &stmt_get, 1, p1, &res)) != 0)
		return rc;
	n = PQntuples(res);
	if (n > 0)
		rc = admin_error(EX_CANTCREAT, "alias domain %s already exists (for %s)", name,
		                 PQgetvalue(res, 0, 1));
	PQclear(res);
	if (rc != 0)
		return rc;
	/* The name may not be one of our domains. */
	if ((rc = admin_exec(ctx, &stmt_is_domain, 1, p1, &res)) != 0)
		return rc;
	n = PQntuples(res);
	PQclear(res);
	if (n > 0)
		return admin_error(EX_CANTCREAT,
		                   "%s is already a domain; delete it first to make "
		                   "it an alias domain",
		                   name);
	if ((rc = admin_domain_get(ctx, target, 1, &t)) != 0)
		return rc;
	const char *pi[3] = {name, admin_i64(idbuf, t.id), active ? "true" : "false"};
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
	json_obj_bool(&details, "active", active);
	json_obj_finish(&details);
	if ((rc = admin_audit(ctx, "alias_domain.add", name, sbuf_str(&details.buf))) == 0 &&
	    (rc = admin_commit(ctx)) == 0) {
		char *msg = xasprintf("added alias domain %s -> %s", name, target);
		out_change(ctx->json, msg, "alias_domain.add", name, sbuf_str(&details.buf));
		free(msg);
	}
	json_obj_free(&details);
	return rc;
}

static const struct out_col cols[] = {
    {"name", "ALIAS-DOMAIN", OUT_TEXT, 0},
    {"target", "TARGET", OUT_TEXT, 0},
    {"active", "ACTIVE", OUT_BOOL, 0},
    {"created", "CREATED", OUT_TEXT, 0},
};

#define AD_SELECT                                                                                  \
	"SELECT a.name, d.name, a.active,"                                                         \
	" to_char(a.created AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), a.name"         \
	" FROM alias_domains a JOIN domains d ON d.id = a.target_domain_id"

static const struct db_stmt stmt_list = {"admin_alias_domain_list",
                                         AD_SELECT " WHERE a.name > $1 ORDER BY a.name LIMIT $2"};
static const struct db_stmt stmt_list_target = {
    "admin_alias_domain_list_target",
    AD_SELECT " WHERE a.target_domain_id = $1 AND a.name > $2 ORDER BY a.name LIMIT $3"};

static int cmd_list(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"domain", required_argument, NULL, O_DOMAIN},
	    {"limit", required_argument, NULL, O_LIMIT},
	    ADMIN_COMMON_OPTIONS,
	};
	static const char *const initial[1] = {""};
	char target[ADDR_DOMAIN_BUFSZ], idbuf[ADMIN_I64_BUFSZ];
	const char *target_arg = NULL;
	struct admin_domain t;
	int64_t limit = 0;
	int c, rc;

	while ((c = admin_getopt(ctx, argc, argv, ADMIN_COMMON_SHORTOPTS, longopts)) != -1) {
		if (c == O_DOMAIN)
			target_arg = optarg;
		else if (c == O_LIMIT) {
			if ((rc = admin_parse_count("--limit", optarg, 0, &limit)) != 0)
				return rc;
		} else
			return EX_USAGE;
	}
	if ((rc = admin_nargs(ctx, argc - optind, 0, 0)) != 0)
		return rc;
	if (target_arg == NULL)
		return admin_list(ctx, NULL, &stmt_list, NULL, 0, initial, 1, cols,
		                  ARRAY_SIZE(cols), limit, NULL);
	if ((rc = admin_parse_domain(target_arg, target)) != 0 ||
	    (rc = admin_domain_get(ctx, target, 0, &t)) != 0)
		return rc;
	const char *fixed[1] = {admin_i64(idbuf, t.id)};
	return admin_list(ctx, NULL, &stmt_list_target, fixed, 1, initial, 1, cols,
	                  ARRAY_SIZE(cols), limit, NULL);
}

static const struct db_stmt stmt_delete = {"admin_alias_domain_delete",
                                           "DELETE FROM alias_domains WHERE name = $1"};

static int cmd_delete(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {ADMIN_COMMON_OPTIONS};
	char name[ADDR_DOMAIN_BUFSZ], *target = NULL;
	struct json_obj details;
	PGresult *res;
	int c, rc;

	while ((c = admin_getopt(ctx, argc, argv, ADMIN_COMMON_SHORTOPTS, longopts)) != -1)
		return EX_USAGE;
	argc -= optind;
	argv += optind;
	if ((rc = admin_nargs(ctx, argc, 1, 1)) != 0 ||
	    (rc = admin_parse_domain(argv[0], name)) != 0)
		return rc;
	if ((rc = admin_begin(ctx)) != 0 || (rc = admin_lock_domain_names(ctx)) != 0)
		return rc;
	const char *p1[1] = {name};
	if ((rc = admin_exec(ctx, &stmt_get, 1, p1, &res)) != 0)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return admin_error(EX_NOUSER, "no such alias domain: %s", name);
	}
	target = xstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	json_obj_init(&details);
	json_obj_str(&details, "target", target);
	json_obj_finish(&details);
	if ((rc = admin_exec(ctx, &stmt_delete, 1, p1, NULL)) == 0 &&
	    (rc = admin_audit(ctx, "alias_domain.delete", name, sbuf_str(&details.buf))) == 0 &&
	    (rc = admin_commit(ctx)) == 0) {
		char *msg = xasprintf("deleted alias domain %s (of %s)", name, target);
		out_change(ctx->json, msg, "alias_domain.delete", name, sbuf_str(&details.buf));
		free(msg);
	}
	json_obj_free(&details);
	free(target);
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
