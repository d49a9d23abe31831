/*
 * admin_alias.c: `sluice-admin alias add|edit|delete` (list and show are in
 * admin_alias_list.c).
 *
 * An alias is an address of one of our domains, or its catch-all "@domain",
 * with one or more destinations: addresses here or anywhere else. Destinations
 * are normalized (domain in lower-case A-labels); one in our domains or alias
 * domains must exist as a mailbox or an alias unless --force. The domain row
 * is locked while max_aliases is checked, and every change ends with the loop
 * check (admin_loop.c) inside the same transaction.
 */
#include "admin.h"
#include "admin_output.h"
#include "admin_sql.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Destinations of one alias at most; far beyond PostfixAdmin's practice. */
#define ALIAS_DESTINATIONS_MAX 1000

enum { O_FORCE = 0x100, O_INACTIVE, O_ACTIVE, O_ADD, O_REMOVE };

/* A list of normalized destination addresses without duplicates (ignoring case). */
struct dest_list {
	char **v;
	unsigned n, cap;
};

static int dest_find(const struct dest_list *l, const char *addr)
{
	for (unsigned i = 0; i < l->n; i++) {
		if (strcasecmp(l->v[i], addr) == 0)
			return (int)i;
	}
	return -1;
}

static int dest_add(struct dest_list *l, const char *addr)
{
	if (dest_find(l, addr) >= 0)
		return 0;
	if (l->n >= ALIAS_DESTINATIONS_MAX)
		return admin_error(EX_DATAERR, "more than %d destinations", ALIAS_DESTINATIONS_MAX);
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 8 : l->cap * 2;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = xstrdup(addr);
	return 0;
}

static void dest_remove(struct dest_list *l, unsigned i)
{
	free(l->v[i]);
	l->v[i] = l->v[--l->n];
}

static void dest_free(struct dest_list *l)
{
	for (unsigned i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Parse and append a destination given on the command line. */
static int dest_parse_add(struct dest_list *l, const char *text)
{
	struct mail_address a;
	char buf[ADDR_BUFSZ];
	int rc;

	if ((rc = admin_parse_address(text, 0, &a)) != 0)
		return rc;
	addr_format(&a, buf);
	return dest_add(l, buf);
}

/*
 * For each destination: is its domain ours (a domain that is no backup MX,
 * or an alias domain), and if so does a mailbox or an alias of that local
 * part exist in the (target) domain?
 */
static const struct db_stmt stmt_dest_check = {
    "admin_alias_dest_check",
    "SELECT x.dest, t.id IS NOT NULL,"
    " EXISTS (SELECT 1 FROM mailboxes m WHERE m.domain_id = t.id"
    "         AND lower(m.local_part) = lower(x.lp))"
    " OR EXISTS (SELECT 1 FROM aliases a WHERE a.domain_id = t.id"
    "         AND lower(a.local_part) = lower(x.lp))"
    " FROM (SELECT o AS dest, substring(o FROM '^(.*)@[^@]*$') AS lp,"
    "              substring(o FROM '@([^@]*)$') AS dom FROM unnest($1::text[]) AS o) x"
    " LEFT JOIN LATERAL (SELECT id FROM domains WHERE name = x.dom AND NOT backup_mx"
    "   UNION ALL SELECT target_domain_id FROM alias_domains WHERE name = x.dom LIMIT 1) t"
    "   ON true"};

/* Local destinations must exist unless forced; external ones are not checked. */
static int check_destinations(struct admin_ctx *ctx, const struct dest_list *l, int force)
{
	char *array;
	PGresult *res;
	int rc;

	if (force || l->n == 0)
		return 0;
	array = admin_text_array((const char *const *)l->v, l->n);
	const char *params[1] = {array};
	rc = admin_exec(ctx, &stmt_dest_check, 1, params, &res);
	free(array);
	if (rc != 0)
		return rc;
	for (int r = 0; r < PQntuples(res); r++) {
		if (PQgetvalue(res, r, 1)[0] == 't' && PQgetvalue(res, r, 2)[0] != 't') {
			rc = admin_error(EX_NOUSER,
			                 "destination %s is in a local domain but no such mailbox "
			                 "or alias exists (use --force to add it anyway)",
			                 PQgetvalue(res, r, 0));
			break;
		}
	}
	PQclear(res);
	return rc;
}

static const struct db_stmt stmt_alias_count = {
    "admin_alias_count", "SELECT count(*) FROM aliases WHERE domain_id = $1"};
static const struct db_stmt stmt_alias_insert = {
    "admin_alias_insert",
    "INSERT INTO aliases (domain_id, local_part, active) VALUES ($1, $2, $3) RETURNING id"};
static const struct db_stmt stmt_dest_insert = {
    "admin_alias_dest_insert", "INSERT INTO alias_destinations (alias_id, destination)"
                               " SELECT $1, unnest($2::text[])"};
static const struct db_stmt stmt_dest_clear = {
    "admin_alias_dest_clear", "DELETE FROM alias_destinations WHERE alias_id = $1"};

static int write_destinations(struct admin_ctx *ctx, int64_t alias_id, const struct dest_list *l)
{
	char idbuf[ADMIN_I64_BUFSZ], *array = admin_text_array((const char *const *)l->v, l->n);
	const char *params[2] = {admin_i64(idbuf, alias_id), array};
	int rc;

	rc = admin_exec(ctx, &stmt_dest_clear, 1, params, NULL);
	if (rc == 0)
		rc = admin_exec(ctx, &stmt_dest_insert, 2, params, NULL);
	free(array);
	return rc;
}

/* The alias address as given: "local@domain", or "@domain" for the catch-all. */
static int parse_alias_address(const char *text, struct mail_address *addr, char *full)
{
	int rc = admin_parse_address(text, 1, addr);

	if (rc == 0)
		addr_format(addr, full);
	return rc;
}

/* Finish a change: loop check, audit row, commit, and the result line. */
static int finish(struct admin_ctx *ctx, const char *action, const char *full,
                  const struct dest_list *l, int active, const char *verb)
{
	const char *addrs[1] = {full};
	struct json_obj details;
	struct sbuf msg = {0};
	int rc;

	if ((rc = admin_check_loops(ctx, addrs, 1)) != 0)
		return rc;
	json_obj_init(&details);
	if (l != NULL)
		json_obj_strv(&details, "destinations", (const char *const *)l->v, l->n);
	if (active >= 0)
		json_obj_bool(&details, "active", active);
	sbuf_appendf(&msg, "%s %s%s", verb, full[0] == '@' ? "catch-all " : "alias ", full);
	for (unsigned i = 0; l != NULL && i < l->n; i++)
		sbuf_appendf(&msg, "%s%s", i == 0 ? " -> " : ", ", l->v[i]);
	rc = admin_change(ctx, action, full, json_obj_finish(&details), "%s", sbuf_str(&msg));
	sbuf_free(&msg);
	json_obj_free(&details);
	return rc;
}

static int cmd_add(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"force", no_argument, NULL, O_FORCE},
	    {"inactive", no_argument, NULL, O_INACTIVE},
	    ADMIN_COMMON_OPTIONS,
	};
	char full[ADDR_BUFSZ], b[2][ADMIN_I64_BUFSZ];
	struct dest_list dests = {0};
	struct mail_address addr;
	struct admin_domain d;
	int c, rc, force = 0, active = 1;
	int64_t id, count;
	PGresult *res;

	while ((c = admin_getopt(ctx, argc, argv, ADMIN_COMMON_SHORTOPTS "f", longopts)) != -1) {
		if (c == O_FORCE || c == 'f')
			force = 1;
		else if (c == O_INACTIVE)
			active = 0;
		else
			return EX_USAGE;
	}
	if ((rc = admin_operands(ctx, &argc, &argv, 2, -1)) != 0 ||
	    (rc = parse_alias_address(argv[0], &addr, full)) != 0)
		return rc;
	for (int i = 1; i < argc; i++) {
		if ((rc = dest_parse_add(&dests, argv[i])) != 0)
			goto out;
	}
	if ((rc = admin_begin(ctx)) != 0 || (rc = admin_domain_get(ctx, addr.domain, 1, &d)) != 0)
		goto out;
	if (d.backup_mx) {
		rc = admin_error(EX_DATAERR,
		                 "%s is a backup MX domain: it relays mail and has no "
		                 "aliases",
		                 d.name);
		goto out;
	}
	if ((rc = admin_alias_id(ctx, d.id, addr.local, &id)) != 0)
		goto out;
	if (id != 0) {
		rc = admin_error(EX_CANTCREAT,
		                 "alias %s already exists (change it with "
		                 "'sluice-admin alias edit')",
		                 full);
		goto out;
	}
	const char *pc[1] = {admin_i64(b[0], d.id)};
	if ((rc = admin_exec(ctx, &stmt_alias_count, 1, pc, &res)) != 0)
		goto out;
	count = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (d.max_aliases > 0 && count >= d.max_aliases) {
		rc = admin_error(EX_CANTCREAT,
		                 "domain %s is at its limit of %" PRId64 " aliases (--max-aliases)",
		                 d.name, d.max_aliases);
		goto out;
	}
	if ((rc = check_destinations(ctx, &dests, force)) != 0)
		goto out;
	const char *pi[3] = {admin_i64(b[0], d.id), addr.local, active ? "true" : "false"};
	if ((rc = admin_exec(ctx, &stmt_alias_insert, 3, pi, &res)) != 0)
		goto out;
	id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if ((rc = write_destinations(ctx, id, &dests)) != 0)
		goto out;
	rc = finish(ctx, "alias.add", full, &dests, active, "added");
out:
	dest_free(&dests);
	return rc;
}

static const struct db_stmt stmt_dest_get = {
    "admin_alias_dest_get",
    "SELECT destination FROM alias_destinations WHERE alias_id = $1 ORDER BY destination"};
static const struct db_stmt stmt_alias_update = {
    "admin_alias_update",
    "UPDATE aliases SET active = coalesce($2::boolean, active), modified = now()"
    " WHERE id = $1 RETURNING active"};

static int cmd_edit(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"add", required_argument, NULL, O_ADD},
	    {"remove", required_argument, NULL, O_REMOVE},
	    {"active", required_argument, NULL, O_ACTIVE},
	    {"force", no_argument, NULL, O_FORCE},
	    ADMIN_COMMON_OPTIONS,
	};
	struct dest_list dests = {0}, adds = {0}, removes = {0}, fresh = {0};
	char full[ADDR_BUFSZ], idbuf[ADMIN_I64_BUFSZ];
	struct mail_address addr;
	int c, rc = 0, force = 0, active = -1;
	int64_t id;
	PGresult *res;

	while ((c = admin_getopt(ctx, argc, argv, ADMIN_COMMON_SHORTOPTS "f", longopts)) != -1) {
		switch (c) {
		case O_ADD:
			rc = dest_parse_add(&adds, optarg);
			break;
		case O_REMOVE:
			rc = dest_parse_add(&removes, optarg);
			break;
		case O_ACTIVE:
			rc = admin_parse_bool("--active", optarg, &active);
			break;
		case O_FORCE:
		case 'f':
			force = 1;
			break;
		default:
			rc = EX_USAGE;
		}
		if (rc != 0)
			goto out;
	}
	if ((rc = admin_operands(ctx, &argc, &argv, 1, -1)) != 0 ||
	    (rc = parse_alias_address(argv[0], &addr, full)) != 0)
		goto out;
	/* Destinations after the address replace the whole list. */
	for (int i = 1; i < argc; i++) {
		if ((rc = dest_parse_add(&fresh, argv[i])) != 0)
			goto out;
	}
	if (argc == 1 && adds.n == 0 && removes.n == 0 && active < 0) {
		rc = admin_usage(ctx, "nothing to change");
		goto out;
	}
	if ((rc = admin_begin(ctx)) != 0 ||
	    (rc = admin_alias_find(ctx, &addr, full, 1, NULL, &id)) != 0)
		goto out;
	const char *p1[2] = {admin_i64(idbuf, id), NULL};
	if (argc > 1) {
		for (unsigned i = 0; i < fresh.n && rc == 0; i++)
			rc = dest_add(&dests, fresh.v[i]);
	} else {
		if ((rc = admin_exec(ctx, &stmt_dest_get, 1, p1, &res)) != 0)
			goto out;
		for (int r = 0; r < PQntuples(res) && rc == 0; r++)
			rc = dest_add(&dests, PQgetvalue(res, r, 0));
		PQclear(res);
	}
	for (unsigned i = 0; i < adds.n && rc == 0; i++)
		rc = dest_add(&dests, adds.v[i]);
	for (unsigned i = 0; i < removes.n && rc == 0; i++) {
		int at = dest_find(&dests, removes.v[i]);

		if (at < 0)
			rc = admin_error(EX_DATAERR, "%s is not a destination of %s", removes.v[i],
			                 full);
		else
			dest_remove(&dests, (unsigned)at);
	}
	if (rc != 0)
		goto out;
	if (dests.n == 0) {
		rc = admin_error(EX_DATAERR,
		                 "an alias needs a destination; to remove %s use "
		                 "'sluice-admin alias delete'",
		                 full);
		goto out;
	}
	/* Only what is new needs to exist; kept destinations were checked when added. */
	if ((rc = check_destinations(ctx, argc > 1 ? &fresh : &adds, force)) != 0)
		goto out;
	if (active >= 0)
		p1[1] = active ? "true" : "false";
	if ((rc = admin_exec(ctx, &stmt_alias_update, 2, p1, &res)) != 0)
		goto out;
	active = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if ((rc = write_destinations(ctx, id, &dests)) != 0)
		goto out;
	rc = finish(ctx, "alias.edit", full, &dests, active, "changed");
out:
	dest_free(&dests);
	dest_free(&adds);
	dest_free(&removes);
	dest_free(&fresh);
	return rc;
}

static const struct db_stmt stmt_alias_delete = {"admin_alias_delete",
                                                 "DELETE FROM aliases WHERE id = $1"};

static int cmd_delete(struct admin_ctx *ctx, int argc, char **argv)
{
	char full[ADDR_BUFSZ], idbuf[ADMIN_I64_BUFSZ];
	struct mail_address addr;
	int64_t id;
	int rc;

	if ((rc = admin_no_options(ctx, &argc, &argv, 1, 1)) != 0 ||
	    (rc = parse_alias_address(argv[0], &addr, full)) != 0)
		return rc;
	if ((rc = admin_begin(ctx)) != 0 ||
	    (rc = admin_alias_find(ctx, &addr, full, 1, NULL, &id)) != 0)
		return rc;
	const char *p1[1] = {admin_i64(idbuf, id)};
	if ((rc = admin_exec(ctx, &stmt_alias_delete, 1, p1, NULL)) != 0)
		return rc;
	/* Mail to the address now goes to its mailbox or the catch-all: check that. */
	return finish(ctx, "alias.delete", full, NULL, -1, "deleted");
}

const struct admin_cmd admin_alias_cmds[] = {
    {"alias", "add", cmd_add, "ADDRESS DESTINATION... [options]", "Add an alias",
     "ADDRESS is an address of one of our domains, or @DOMAIN for the domain's\n"
     "catch-all (mail to addresses that have neither an alias nor a mailbox).\n"
     "Each DESTINATION is an address here or anywhere else. A destination in one\n"
     "of our domains must exist as a mailbox or an alias, unless --force. Naming\n"
     "the alias's own address as a destination keeps a copy in the mailbox of\n"
     "that address (forwarding). An alias that would make mail go round in a loop\n"
     "is refused. The domain's max-aliases limit counts the catch-all too.\n\n"
     "Options:\n"
     "  -f, --force   accept local destinations that do not exist (yet)\n"
     "  --inactive    add it switched off\n"},
    {"alias", "list", admin_alias_list, "[--domain DOMAIN] [--destination ADDRESS] [--limit N]",
     "List aliases",
     "Lists aliases with their destinations, of one domain or of all of them,\n"
     "or only those that send mail to one destination.\n\n"
     "Options:\n"
     "  --domain DOMAIN         only this domain's aliases\n"
     "  --destination ADDRESS   only aliases with this destination\n"
     "  --limit N               stop after N aliases\n"},
    {"alias", "show", admin_alias_show, "ADDRESS", "Show an alias",
     "Shows an alias (or a catch-all, @DOMAIN) with its destinations.\n"},
    {"alias", "edit", cmd_edit, "ADDRESS [DESTINATION...] [options]", "Change an alias",
     "Destinations given after ADDRESS replace the whole list; --add and --remove\n"
     "change it one address at a time. New local destinations must exist unless\n"
     "--force, and the result may not make a loop.\n\n"
     "Options:\n"
     "  --add ADDRESS      add a destination (repeatable)\n"
     "  --remove ADDRESS   remove a destination (repeatable)\n"
     "  --active yes|no    switch the alias on or off\n"
     "  -f, --force        accept local destinations that do not exist (yet)\n"},
    {"alias", "delete", cmd_delete, "ADDRESS", "Delete an alias",
     "Deletes an alias or catch-all. Mail to its address then goes to the mailbox\n"
     "of that address if there is one, else to the domain's catch-all, else it is\n"
     "refused.\n"},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
