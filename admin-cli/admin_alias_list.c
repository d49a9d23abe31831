/*
 * admin_alias_list.c: `sluice-admin alias list` and `alias show`.
 *
 * Lists page through aliases by keyset on the aliases_address index
 * (domain_id, lower(local_part)), or, for --destination, start from the
 * lower(destination) index; each row carries its destinations gathered in
 * the same query. Reads only.
 */
#include "admin.h"
#include "admin_output.h"
#include "admin_sql.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

static const struct out_col cols[] = {
    {"address", "ALIAS", OUT_TEXT, 0},
    {"domain", "DOMAIN", OUT_TEXT, OUT_DETAIL},
    {"local_part", "LOCAL", OUT_TEXT, OUT_DETAIL},
    {"catch_all", "CATCH-ALL", OUT_BOOL, OUT_DETAIL},
    {"active", "ACTIVE", OUT_BOOL, 0},
    {"destinations", "DESTINATIONS", OUT_LIST, 0},
    {"created", "CREATED", OUT_TEXT, OUT_DETAIL},
    {"modified", "MODIFIED", OUT_TEXT, OUT_DETAIL},
};

#define ALIAS_COLUMNS                                                                              \
	"a.local_part || '@' || d.name, d.name, a.local_part, a.local_part = '', a.active,"        \
	" (SELECT coalesce(string_agg(x.destination, E'\\n' ORDER BY x.destination), '')"          \
	"   FROM alias_destinations x WHERE x.alias_id = a.id), " ADMIN_SQL_UTC(                   \
	    "a.created") ", " ADMIN_SQL_UTC("a.modified")
#define ALIAS_FROM " FROM aliases a JOIN domains d ON d.id = a.domain_id"

static const struct db_stmt stmt_list_domain = {
    "admin_alias_list_domain", "SELECT " ALIAS_COLUMNS ", lower(a.local_part)" ALIAS_FROM
                               " WHERE a.domain_id = $1 AND lower(a.local_part) > $2"
                               " ORDER BY lower(a.local_part) LIMIT $3"};
/*
 * The catch-all's key is '', the initial key itself: the first page takes
 * keys >= the initial ones, later pages keys > the last row's.
 */
static const struct db_stmt stmt_list_domain_first = {
    "admin_alias_list_domain_first", "SELECT " ALIAS_COLUMNS ", lower(a.local_part)" ALIAS_FROM
                                     " WHERE a.domain_id = $1 AND lower(a.local_part) >= $2"
                                     " ORDER BY lower(a.local_part) LIMIT $3"};
/*
 * All domains (optionally only aliases with one destination), by (domain
 * name, lower(local_part)): the rest of the last domain seen by an index
 * range scan, then the domains after it in name order, so each page costs
 * its own rows. CMP is ">=" on the first page (the catch-all's key is '').
 */
#define ALL_PAGE(k1, k2, lim, dest_filter, cmp)                                                    \
	"WITH page AS ("                                                                           \
	" (SELECT a.id, " k1 "::text AS k1, lower(a.local_part) AS k2 FROM aliases a"              \
	"  WHERE a.domain_id = (SELECT id FROM domains WHERE name = " k1 ")"                       \
	"  AND lower(a.local_part) " cmp " " k2 dest_filter                                        \
	"  ORDER BY lower(a.local_part) LIMIT " lim ")"                                            \
	" UNION ALL"                                                                               \
	" (SELECT a.id, d.name, lower(a.local_part) FROM domains d"                                \
	"  JOIN aliases a ON a.domain_id = d.id WHERE d.name > " k1 dest_filter                    \
	"  ORDER BY d.name, lower(a.local_part) LIMIT " lim "))"                                   \
	" SELECT " ALIAS_COLUMNS ", p.k1, p.k2 FROM page p JOIN aliases a ON a.id = p.id"          \
	" JOIN domains d ON d.id = a.domain_id ORDER BY p.k1, p.k2 LIMIT " lim
/* Only aliases with destination $1, found by the lower(destination) index. */
#define DEST_FILTER                                                                                \
	" AND a.id IN (SELECT alias_id FROM alias_destinations"                                    \
	"              WHERE lower(destination) = lower($1))"

static const struct db_stmt stmt_list_all_first = {"admin_alias_list_all_first",
                                                   ALL_PAGE("$1", "$2", "$3", "", ">=")};
static const struct db_stmt stmt_list_all = {"admin_alias_list_all",
                                             ALL_PAGE("$1", "$2", "$3", "", ">")};
static const struct db_stmt stmt_list_destination_first = {
    "admin_alias_list_destination_first", ALL_PAGE("$2", "$3", "$4", DEST_FILTER, ">=")};
static const struct db_stmt stmt_list_destination = {"admin_alias_list_destination",
                                                     ALL_PAGE("$2", "$3", "$4", DEST_FILTER, ">")};

int admin_alias_list(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    ADMIN_OPTION_DOMAIN,
	    ADMIN_OPTION_DESTINATION,
	    ADMIN_OPTION_LIMIT,
	    ADMIN_COMMON_OPTIONS,
	};
	/*
	 * Keys start below every real key. A catch-all's key is '' too, so the
	 * first page must use ">= ''" semantics: "\x01" sorts after '' and before
	 * every other key, and '' itself is matched by the catch-all-aware query.
	 */
	static const char *const initial[2] = {"", ""};
	char dest[ADDR_BUFSZ];
	struct admin_list_opts o;
	struct mail_address a;
	int rc;

	if ((rc = admin_list_options(ctx, argc, argv, longopts, &o)) != 0 ||
	    (rc = admin_operands(ctx, &argc, &argv, 0, 0)) != 0)
		return rc;
	if (o.domain != NULL && o.destination != NULL)
		return admin_usage(ctx, "--domain and --destination exclude each other");
	if (o.destination != NULL) {
		if ((rc = admin_parse_address(o.destination, 0, &a)) != 0)
			return rc;
		addr_format(&a, dest);
		const char *fixed[1] = {dest};
		return admin_list(ctx, &stmt_list_destination_first, &stmt_list_destination, fixed,
		                  1, initial, 2, cols, ARRAY_SIZE(cols), o.limit, NULL);
	}
	if (o.domain == NULL)
		return admin_list(ctx, &stmt_list_all_first, &stmt_list_all, NULL, 0, initial, 2,
		                  cols, ARRAY_SIZE(cols), o.limit, NULL);
	return admin_list_domain(ctx, o.domain, &stmt_list_domain_first, &stmt_list_domain, initial,
	                         1, cols, ARRAY_SIZE(cols), o.limit);
}

static const struct db_stmt stmt_show = {
    "admin_alias_show", "SELECT " ALIAS_COLUMNS ALIAS_FROM
                        " WHERE a.domain_id = $1 AND lower(a.local_part) = lower($2)"};

int admin_alias_show(struct admin_ctx *ctx, int argc, char **argv)
{
	int rc;

	if ((rc = admin_no_options(ctx, &argc, &argv, 1, 1)) != 0)
		return rc;
	return admin_show_address(ctx, argv[0], 1, &stmt_show, cols, ARRAY_SIZE(cols), "alias");
}
