/*
 * admin_mailbox_list.c: `sluice-admin mailbox list` and `mailbox show`.
 *
 * Lists page through mailboxes with keyset pagination on the indexes the
 * schema has: (domain_id, lower(local_part)) for one domain, and domains by
 * name then that index for all of them, so `mailbox list --domain D` costs
 * the same with 100 or 100,000 mailboxes and nothing is fetched per row.
 * Reads only; never selects password_hash (the admin role may not).
 */
#include "admin.h"
#include "admin_output.h"
#include "admin_sql.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

static const struct out_col list_cols[] = {
    {"address", "ADDRESS", OUT_TEXT, 0},
    {"domain", "DOMAIN", OUT_TEXT, OUT_DETAIL},
    {"local_part", "LOCAL", OUT_TEXT, OUT_DETAIL},
    {"display_name", "NAME", OUT_TEXT, OUT_DETAIL},
    {"quota_bytes", "QUOTA", OUT_SIZE, OUT_UNLIMITED},
    {"used_bytes", "USED", OUT_SIZE, 0},
    {"quota_messages", "MSG-QUOTA", OUT_INT, OUT_UNLIMITED | OUT_DETAIL},
    {"messages", "MESSAGES", OUT_INT, 0},
    {"active", "ACTIVE", OUT_BOOL, 0},
    {"send_as_domain", "SEND-AS-DOMAIN", OUT_BOOL, OUT_DETAIL},
    {"storage_dir", "STORAGE", OUT_TEXT, OUT_DETAIL},
    {"created", "CREATED", OUT_TEXT, OUT_DETAIL},
};

#define MAILBOX_COLUMNS                                                                            \
	"m.local_part || '@' || d.name, d.name, m.local_part, m.display_name,"                     \
	" m.quota_bytes, coalesce(q.bytes, 0), m.quota_messages, coalesce(q.messages, 0),"         \
	" m.active, m.send_as_domain, m.storage_dir, " ADMIN_SQL_UTC("m.created")
#define MAILBOX_FROM                                                                               \
	" FROM mailboxes m JOIN domains d ON d.id = m.domain_id"                                   \
	" LEFT JOIN quota_usage q ON q.mailbox_id = m.id"

/* One domain: an index range scan of mailboxes_address from the last key on. */
static const struct db_stmt stmt_list_domain = {
    "admin_mailbox_list_domain", "SELECT " MAILBOX_COLUMNS ", lower(m.local_part)" MAILBOX_FROM
                                 " WHERE m.domain_id = $1 AND lower(m.local_part) > $2"
                                 " ORDER BY lower(m.local_part) LIMIT $3"};
/*
 * All domains, by (domain name, lower(local_part)): the rest of the last
 * domain seen (an index range scan of mailboxes_address), then the domains
 * after it in name order (domains_name_key, each one's mailboxes by the same
 * index). Each page costs its own rows, not the rows before it.
 */
static const struct db_stmt stmt_list_all = {
    "admin_mailbox_list_all",
    "WITH page AS ("
    " (SELECT m.id, $1::text AS k1, lower(m.local_part) AS k2 FROM mailboxes m"
    "  WHERE m.domain_id = (SELECT id FROM domains WHERE name = $1)"
    "  AND lower(m.local_part) > $2 ORDER BY lower(m.local_part) LIMIT $3)"
    " UNION ALL"
    " (SELECT m.id, d.name, lower(m.local_part) FROM domains d"
    "  JOIN mailboxes m ON m.domain_id = d.id WHERE d.name > $1"
    "  ORDER BY d.name, lower(m.local_part) LIMIT $3))"
    " SELECT " MAILBOX_COLUMNS ", p.k1, p.k2 FROM page p JOIN mailboxes m ON m.id = p.id"
    " JOIN domains d ON d.id = m.domain_id LEFT JOIN quota_usage q ON q.mailbox_id = m.id"
    " ORDER BY p.k1, p.k2 LIMIT $3"};

int admin_mailbox_list(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    ADMIN_OPTION_DOMAIN,
	    ADMIN_OPTION_LIMIT,
	    ADMIN_COMMON_OPTIONS,
	};
	static const char *const initial[2] = {"", ""};
	struct admin_list_opts o;
	int rc;

	if ((rc = admin_list_options(ctx, argc, argv, longopts, &o)) != 0 ||
	    (rc = admin_operands(ctx, &argc, &argv, 0, 0)) != 0)
		return rc;
	if (o.domain == NULL)
		return admin_list(ctx, NULL, &stmt_list_all, NULL, 0, initial, 2, list_cols,
		                  ARRAY_SIZE(list_cols), o.limit, NULL);
	return admin_list_domain(ctx, o.domain, NULL, &stmt_list_domain, initial, 1, list_cols,
	                         ARRAY_SIZE(list_cols), o.limit);
}

static const struct out_col show_cols[] = {
    {"address", "", OUT_TEXT, 0},
    {"domain", "", OUT_TEXT, 0},
    {"local_part", "", OUT_TEXT, 0},
    {"display_name", "", OUT_TEXT, 0},
    {"quota_bytes", "", OUT_SIZE, OUT_UNLIMITED},
    {"used_bytes", "", OUT_SIZE, 0},
    {"quota_messages", "", OUT_INT, OUT_UNLIMITED},
    {"messages", "", OUT_INT, 0},
    {"active", "", OUT_BOOL, 0},
    {"send_as_domain", "", OUT_BOOL, 0},
    {"storage_dir", "", OUT_TEXT, 0},
    {"created", "", OUT_TEXT, 0},
    {"domain_active", "", OUT_BOOL, 0},
    {"modified", "", OUT_TEXT, 0},
    {"last_login", "", OUT_TEXT, 0},
    {"aliases", "", OUT_LIST, 0},
};

/* clang-format off */
/* The aliases that deliver here: by the lower(destination) index. */
static const struct db_stmt stmt_show = {
    "admin_mailbox_show",
    "SELECT " MAILBOX_COLUMNS ", d.active, " ADMIN_SQL_UTC("m.modified") ", " ADMIN_SQL_UTC(
        "m.last_login") ","
    " (SELECT coalesce(string_agg(a.local_part || '@' || ad.name, E'\\n'"
    "   ORDER BY ad.name, a.local_part), '')"
    "   FROM alias_destinations x JOIN aliases a ON a.id = x.alias_id"
    "   JOIN domains ad ON ad.id = a.domain_id"
    "   WHERE lower(x.destination) = lower(m.local_part || '@' || d.name))" MAILBOX_FROM
    " WHERE m.domain_id = $1 AND lower(m.local_part) = lower($2)"};
/* clang-format on */

int admin_mailbox_show(struct admin_ctx *ctx, int argc, char **argv)
{
	int rc;

	if ((rc = admin_no_options(ctx, &argc, &argv, 1, 1)) != 0)
		return rc;
	return admin_show_address(ctx, argv[0], 0, &stmt_show, show_cols, ARRAY_SIZE(show_cols),
	                          "mailbox");
}
