/*
 * admin_loop.c: the alias loop check of sluice-admin.
 *
 * Addresses form a graph: an alias leads to each of its destinations, an
 * address in an alias domain leads to the same local part in the target
 * domain, and an address of a domain with neither an alias nor a mailbox of
 * its own leads to the domain's catch-all ("@domain"). A change adds edges
 * only from the addresses it touched, so a new cycle must pass through one
 * of them: the check walks the graph from each such address with a recursive
 * query (every node visited once per start and first hop, so it ends on any
 * data) and fails if the walk comes back to its start. An alias that names
 * its own address while a mailbox of that address exists delivers a copy
 * there (PostfixAdmin's "forward and keep a copy") and is no loop; without
 * the mailbox it is one. Runs inside the change's transaction, after the
 * change was written, so a failure rolls the change back.
 */
#include "admin.h"
#include "admin_sql.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const struct db_stmt stmt_loop = {
    "admin_loop_check",
    "WITH RECURSIVE walk(addr, origin, via, first) AS ("
    "  SELECT lower(o), lower(o), NULL::text, true FROM unnest($1::text[]) AS o"
    " UNION"
    "  SELECT n.addr, w.origin, coalesce(w.via, n.addr), false"
    "  FROM walk w"
    "  CROSS JOIN LATERAL (SELECT substring(w.addr FROM '^(.*)@[^@]*$') AS lp,"
    "                             substring(w.addr FROM '@([^@]*)$') AS dom) s"
    "  CROSS JOIN LATERAL ("
    /* an alias domain: the same local part in the target domain */
    "    SELECT s.lp || '@' || td.name AS addr FROM alias_domains ad"
    "    JOIN domains td ON td.id = ad.target_domain_id WHERE ad.name = s.dom"
    "   UNION ALL"
    /* an alias: its destinations, but for the kept copy of a mailbox of the same address */
    "    SELECT lower(x.destination) FROM domains d"
    "    JOIN aliases a ON a.domain_id = d.id AND lower(a.local_part) = s.lp"
    "    JOIN alias_destinations x ON x.alias_id = a.id"
    "    WHERE d.name = s.dom AND NOT (lower(x.destination) = w.addr AND EXISTS ("
    "      SELECT 1 FROM mailboxes m WHERE m.domain_id = d.id"
    "      AND lower(m.local_part) = s.lp))"
    "   UNION ALL"
    /* neither alias nor mailbox: the catch-all, if the domain has one */
    "    SELECT '@' || d.name FROM domains d WHERE d.name = s.dom AND s.lp <> ''"
    "    AND NOT EXISTS (SELECT 1 FROM aliases a WHERE a.domain_id = d.id"
    "                    AND lower(a.local_part) = s.lp)"
    "    AND NOT EXISTS (SELECT 1 FROM mailboxes m WHERE m.domain_id = d.id"
    "                    AND lower(m.local_part) = s.lp)"
    "    AND EXISTS (SELECT 1 FROM aliases a WHERE a.domain_id = d.id AND a.local_part = '')"
    "  ) n"
    "  WHERE w.first OR w.addr <> w.origin"
    ")"
    " SELECT origin, via FROM walk WHERE NOT first AND addr = origin LIMIT 1"};

int admin_check_loops(struct admin_ctx *ctx, const char *const *addrs, unsigned n)
{
	char *array;
	PGresult *res;
	int rc;

	if (n == 0)
		return 0;
	array = admin_text_array(addrs, n);
	const char *params[1] = {array};
	rc = admin_exec(ctx, &stmt_loop, 1, params, &res);
	free(array);
	if (rc != 0)
		return rc;
	if (PQntuples(res) > 0) {
		const char *origin = PQgetvalue(res, 0, 0), *via = PQgetvalue(res, 0, 1);

		if (strcmp(origin, via) == 0)
			rc = admin_error(EX_DATAERR,
			                 "alias loop: mail to %s would be sent back to %s, and it "
			                 "has no mailbox to keep a copy in; nothing changed",
			                 origin, origin);
		else
			rc = admin_error(EX_DATAERR,
			                 "alias loop: mail to %s would come back to it through %s; "
			                 "nothing changed",
			                 origin, via);
	}
	PQclear(res);
	return rc;
}
