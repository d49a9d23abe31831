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
	    ADMIN_OPTION_DOMAIN,
	    ADMIN_OPTION_LIMIT,
	    ADMIN_COMMON_OPTIONS,
	};
	static const char *const initial[1] = {""};
	struct admin_list_opts o;
	int rc;

	if ((rc = admin_list_options(ctx, argc, argv, longopts, &o)) != 0 ||
	    (rc = admin_mailbox_or_domain(ctx, &argc, &argv, o.domain)) != 0)
		return rc;
	if (argc == 0 && o.domain == NULL)
		return admin_list(ctx, NULL, &stmt_domains, NULL, 0, initial, 1, domain_cols,
		                  ARRAY_SIZE(domain_cols), o.limit, NULL);
	if (o.domain != NULL)
		return admin_list_domain(ctx, o.domain, NULL, &stmt_domain_mailboxes, initial, 1,
		                         mailbox_cols, ARRAY_SIZE(mailbox_cols), o.limit);
	return admin_show_address(ctx, argv[0], 0, &stmt_mailbox, mailbox_cols,
	                          ARRAY_SIZE(mailbox_cols), "mailbox");
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
