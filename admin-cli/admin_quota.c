/*
 * admin_quota.c: `sluice-admin quota show [ADDRESS | --domain DOMAIN]`.
 *
 * Usage against limits, from quota_usage (which the delivery agent and the
 * IMAP server keep in the same transaction as the message index): for one
 * mailbox, for every mailbox of a domain, or per domain (the sum of its
 * mailboxes' usage against the domain quota). Percentages are whole numbers,
 * rounded down, and null where there is no limit. Reads only.
 */
#include "admin.h"
#include "admin_output.h"
#include "admin_sql.h"
#include "util.h"

#include <stdio.h>

enum { O_DOMAIN = 0x100, O_LIMIT };

static const struct out_col mailbox_cols[] = {
    {"address", "ADDRESS", OUT_TEXT, 0},
    {"quota_bytes", "QUOTA", OUT_SIZE, OUT_UNLIMITED},
    {"used_bytes", "USED", OUT_SIZE, 0},
    {"used_percent", "USED%", OUT_INT, 0},
    {"quota_messages", "MSG-QUOTA", OUT_INT, OUT_UNLIMITED},
    {"messages", "MESSAGES", OUT_INT, 0},
    {"messages_percent", "MSG%", OUT_INT, 0},
    {"warned_percent", "WARNED%", OUT_INT, OUT_DETAIL},
};

#define PERCENT(used, limit)                                                                       \
	" CASE WHEN " limit " > 0 THEN floor(100.0 * " used " / " limit ")::bigint END"
#define MAILBOX_QUOTA                                                                              \
	"SELECT m.local_part || '@' || d.name, m.quota_bytes, coalesce(q.bytes, 0)," PERCENT(      \
	    "coalesce(q.bytes, 0)",                                                                \
	    "m.quota_bytes") ", m.quota_messages,"                                                 \
	                     " coalesce(q.messages, 0)," PERCENT(                                  \
	                         "coalesce(q.messages, 0)",                                        \
	                         "m.quota_messages") ", coalesce(q.warned_percent, 0)"
#define MAILBOX_FROM                                                                               \
	" FROM mailboxes m JOIN domains d ON d.id = m.domain_id"                                   \
	" LEFT JOIN quota_usage q ON q.mailbox_id = m.id"

static const struct db_stmt stmt_mailbox = {
    "admin_quota_mailbox",
    MAILBOX_QUOTA MAILBOX_FROM " WHERE m.domain_id = $1 AND lower(m.local_part) = lower($2)"};
static const struct db_stmt stmt_domain_mailboxes = {
    "admin_quota_domain_mailboxes", MAILBOX_QUOTA
    ", lower(m.local_part)" MAILBOX_FROM " WHERE m.domain_id = $1 AND lower(m.local_part) > $2"
    " ORDER BY lower(m.local_part) LIMIT $3"};

static const struct out_col domain_cols[] = {
    {"domain", "DOMAIN", OUT_TEXT, 0},
    {"quota_bytes", "QUOTA", OUT_SIZE, OUT_UNLIMITED},
    {"allocated_bytes", "ALLOCATED", OUT_SIZE, 0},
    {"used_bytes", "USED", OUT_SIZE, 0},
    {"used_percent", "USED%", OUT_INT, 0},
    {"mailboxes", "MAILBOXES", OUT_INT, 0},
    {"messages", "MESSAGES", OUT_INT, 0},
};

static const struct db_stmt stmt_domains = {
    "admin_quota_domains",
    "SELECT d.name, d.quota_bytes, s.allocated, s.used," PERCENT(
        "s.used",
        "d.quota_bytes") ", s.mailboxes, s.messages, d.name FROM domains d CROSS JOIN LATERAL ("
                         "  SELECT coalesce(sum(m.quota_bytes), 0) AS allocated,"
                         "  coalesce(sum(q.bytes), 0) AS used, count(m.id) AS mailboxes,"
                         "  coalesce(sum(q.messages), 0) AS messages"
                         "  FROM mailboxes m LEFT JOIN quota_usage q ON q.mailbox_id = m.id"
                         "  WHERE m.domain_id = d.id) s"
                         " WHERE d.name > $1 ORDER BY d.name LIMIT $2"};

static int cmd_show(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"domain", required_argument, NULL, O_DOMAIN},
	    {"limit", required_argument, NULL, O_LIMIT},
	    ADMIN_COMMON_OPTIONS,
	};
	static const char *const initial[1] = {""};
	char domain[ADDR_DOMAIN_BUFSZ], full[ADDR_BUFSZ], idbuf[ADMIN_I64_BUFSZ];
	const char *domain_arg = NULL;
	struct mail_address addr;
	struct admin_domain d;
	int64_t limit = 0;
	PGresult *res;
	int c, rc;

	while ((c = admin_getopt(ctx, argc, argv, ADMIN_COMMON_SHORTOPTS, longopts)) != -1) {
		if (c == O_DOMAIN)
			domain_arg = optarg;
		else if (c == O_LIMIT) {
			if ((rc = admin_parse_count("--limit", optarg, 0, &limit)) != 0)
				return rc;
		} else
			return EX_USAGE;
	}
	argc -= optind;
	argv += optind;
	if ((rc = admin_nargs(ctx, argc, 0, 1)) != 0)
		return rc;
	if (argc == 1 && domain_arg != NULL)
		return admin_usage(ctx, "give a mailbox or --domain, not both");
	if (argc == 0 && domain_arg == NULL)
		return admin_list(ctx, NULL, &stmt_domains, NULL, 0, initial, 1, domain_cols,
		                  ARRAY_SIZE(domain_cols), limit, NULL);
	if (domain_arg != NULL) {
		if ((rc = admin_parse_domain(domain_arg, domain)) != 0 ||
		    (rc = admin_domain_get(ctx, domain, 0, &d)) != 0)
			return rc;
		const char *fixed[1] = {admin_i64(idbuf, d.id)};
		return admin_list(ctx, NULL, &stmt_domain_mailboxes, fixed, 1, initial, 1,
		                  mailbox_cols, ARRAY_SIZE(mailbox_cols), limit, NULL);
	}
	if ((rc = admin_parse_address(argv[0], 0, &addr)) != 0)
		return rc;
	addr_format(&addr, full);
	if ((rc = admin_domain_get(ctx, addr.domain, 0, &d)) != 0)
		return rc;
	const char *params[2] = {admin_i64(idbuf, d.id), addr.local};
	if ((rc = admin_exec(ctx, &stmt_mailbox, 2, params, &res)) != 0)
		return rc;
	if (PQntuples(res) == 0)
		rc = admin_error(EX_NOUSER, "no such mailbox: %s", full);
	else
		out_object(ctx->json, mailbox_cols, ARRAY_SIZE(mailbox_cols), res, 0);
	PQclear(res);
	return rc;
}

const struct admin_cmd admin_quota_cmds[] = {
    {"quota", "show", cmd_show, "[ADDRESS | --domain DOMAIN] [--limit N]",
     "Show quota usage against the limits",
     "With ADDRESS: one mailbox's storage and message usage against its quota.\n"
     "With --domain: every mailbox of the domain. With neither: every domain,\n"
     "its quota, the quota given to its mailboxes (allocated) and their usage.\n"
     "Percentages are rounded down; none is shown where there is no limit.\n\n"
     "Options:\n"
     "  --domain DOMAIN   the mailboxes of this domain\n"
     "  --limit N         stop after N rows\n"},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
