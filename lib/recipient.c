/*
 * recipient.c: address classes and alias expansion from the database (see
 * recipient.h for the rules).
 *
 * The expansion is one recursive query: each row of the walk is either a
 * node still to look at ("node:local@domain") or a final destination; the
 * recursive step looks a node up (alias domain, domain, exact alias, exact
 * mailbox, base alias, base mailbox, catch-all, in that order) and yields
 * its children. PostgreSQL's CYCLE clause stops a branch that comes back to
 * an address already on its path, the depth parameter bounds the walk, and
 * the LIMIT bounds the rows read. Only prepared statements with parameters;
 * addresses reach here already parsed and normalized (lib/addr.c), but they
 * are still client data and never part of the SQL text.
 */
#include "recipient.h"

#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The columns every statement here returns for a mailbox. */
#define MAILBOX_COLUMNS                                                                            \
	"m.storage_dir, m.quota_bytes, m.quota_messages, "                                         \
	"coalesce(q.bytes, 0), coalesce(q.messages, 0)"

/*
 * $1 local part, $2 domain, $3 delimiters (text[] of single characters),
 * $4 depth limit, $5 follow catch-alls, $6 rows at most.
 */
static const struct db_stmt stmt_resolve = {
    "recipient_resolve",
    "WITH RECURSIVE walk(kind, lp, dom, ext, depth, catchall, mailbox_id, key) AS ("
    "  SELECT 'node'::text, $1::text, $2::text, ''::text, 0, false, NULL::bigint,"
    "         'node:' || lower($1::text) || '@' || $2::text"
    " UNION ALL"
    "  SELECT n.kind, n.lp, n.dom, n.ext, w.depth + 1, w.catchall OR n.catchall, n.mailbox_id,"
    "         n.kind || ':' || lower(n.lp) || '@' || n.dom"
    "  FROM walk w"
    /* the base and extension: the first delimiter, unless it starts the local part */
    "  CROSS JOIN LATERAL ("
    "    SELECT CASE WHEN p > 1 THEN left(w.lp, p - 1) END AS base,"
    "           CASE WHEN p > 1 THEN substr(w.lp, p) ELSE '' END AS ext_here"
    "    FROM (SELECT min(q) AS p FROM unnest($3::text[]) AS c, strpos(w.lp, c) AS q"
    "          WHERE q > 0 AND left(w.lp, 1) <> '\"') x) s"
    "  LEFT JOIN LATERAL (SELECT td.name FROM alias_domains ad"
    "    JOIN domains td ON td.id = ad.target_domain_id"
    "    WHERE ad.name = w.dom AND ad.active) ad ON true"
    "  LEFT JOIN domains d ON ad.name IS NULL AND d.name = w.dom"
    "  LEFT JOIN LATERAL (SELECT m.id, m.local_part, m.active FROM mailbox_directory m"
    "    WHERE m.domain_id = d.id AND lower(m.local_part) = lower(w.lp)) m1 ON true"
    "  LEFT JOIN LATERAL (SELECT a.id FROM aliases a WHERE a.domain_id = d.id AND a.active"
    "    AND lower(a.local_part) = lower(w.lp) AND w.lp <> '') a1 ON true"
    "  LEFT JOIN LATERAL (SELECT m.id, m.local_part, m.active FROM mailbox_directory m"
    "    WHERE m.domain_id = d.id AND lower(m.local_part) = lower(s.base)) m2 ON true"
    "  LEFT JOIN LATERAL (SELECT a.id FROM aliases a WHERE a.domain_id = d.id AND a.active"
    "    AND lower(a.local_part) = lower(s.base)) a2 ON true"
    "  LEFT JOIN LATERAL (SELECT a.id FROM aliases a WHERE a.domain_id = d.id AND a.active"
    "    AND a.local_part = '' AND $5) a3 ON true"
    "  CROSS JOIN LATERAL (SELECT"
    "    CASE WHEN ad.name IS NOT NULL THEN 'domain'"
    "         WHEN d.id IS NULL THEN 'remote'"
    "         WHEN d.backup_mx THEN 'relay'"
    "         WHEN NOT d.active THEN 'unknown'"
    "         WHEN a1.id IS NOT NULL THEN 'alias1'"
    "         WHEN m1.id IS NOT NULL THEN 'mailbox1'"
    "         WHEN a2.id IS NOT NULL THEN 'alias2'"
    "         WHEN m2.id IS NOT NULL THEN 'mailbox2'"
    "         WHEN a3.id IS NOT NULL THEN 'catchall'"
    "         ELSE 'unknown' END AS rule) r"
    "  CROSS JOIN LATERAL ("
    /* an alias domain: the same local part in the target domain */
    "    SELECT 'node' AS kind, w.lp AS lp, ad.name AS dom, w.ext AS ext, false AS catchall,"
    "           NULL::bigint AS mailbox_id WHERE r.rule = 'domain'"
    "   UNION ALL"
    "    SELECT r.rule, w.lp, w.dom, '', false, NULL WHERE r.rule IN ('remote', 'relay', 'unknown')"
    "   UNION ALL"
    /* a mailbox: exact (with the extension carried here), or by its base */
    "    SELECT CASE WHEN mm.active THEN 'mailbox' ELSE 'disabled' END, mm.local_part, w.dom,"
    "           CASE WHEN r.rule = 'mailbox1' THEN w.ext ELSE s.ext_here END, false, mm.id"
    "    FROM (SELECT m1.id, m1.local_part, m1.active WHERE r.rule = 'mailbox1'"
    "          UNION ALL SELECT m2.id, m2.local_part, m2.active WHERE r.rule = 'mailbox2') mm"
    "   UNION ALL"
    /* an alias or catch-all: its destinations; its own address is its mailbox */
    "    SELECT CASE WHEN self.id IS NULL THEN 'node' WHEN self.active THEN 'mailbox'"
    "                ELSE 'disabled' END,"
    "           coalesce(self.local_part, substring(x.destination FROM '^(.*)@[^@]*$')),"
    "           CASE WHEN self.id IS NULL THEN substring(x.destination FROM '@([^@]*)$')"
    "                ELSE w.dom END,"
    "           CASE r.rule WHEN 'alias1' THEN w.ext WHEN 'alias2' THEN s.ext_here ELSE '' END,"
    "           r.rule = 'catchall', self.id"
    "    FROM alias_destinations x"
    "    LEFT JOIN LATERAL (SELECT mm.id, mm.local_part, mm.active FROM ("
    "        SELECT m1.id, m1.local_part, m1.active WHERE r.rule = 'alias1'"
    "        UNION ALL SELECT m2.id, m2.local_part, m2.active WHERE r.rule = 'alias2') mm"
    "      WHERE lower(x.destination) = lower(mm.local_part) || '@' || w.dom) self ON true"
    "    WHERE x.alias_id = CASE r.rule WHEN 'alias1' THEN a1.id WHEN 'alias2' THEN a2.id"
    "                                   WHEN 'catchall' THEN a3.id END"
    "  ) n"
    "  WHERE w.kind = 'node' AND w.depth < $4"
    ") CYCLE key SET is_cycle USING path"
    " SELECT w.kind, w.lp, w.dom, w.ext, w.depth, w.catchall, w.is_cycle, "
    "w.mailbox_id, " MAILBOX_COLUMNS
    " FROM walk w LEFT JOIN mailbox_directory m ON m.id = w.mailbox_id"
    " LEFT JOIN quota_usage q ON q.mailbox_id = w.mailbox_id"
    " WHERE w.kind <> 'node' OR w.is_cycle OR w.depth >= $4 LIMIT $6"};

/* $1 local part, $2 its base (or the same), $3 domain. */
static const struct db_stmt stmt_mailbox = {
    "recipient_mailbox", "SELECT m.id, m.local_part, m.domain, m.active, " MAILBOX_COLUMNS
                         " FROM (SELECT coalesce((SELECT td.name FROM alias_domains ad"
                         "         JOIN domains td ON td.id = ad.target_domain_id"
                         "         WHERE ad.name = $3 AND ad.active), $3) AS dom) t"
                         " JOIN mailbox_directory m ON m.domain = t.dom"
                         "  AND lower(m.local_part) IN (lower($1), lower($2))"
                         " LEFT JOIN quota_usage q ON q.mailbox_id = m.id"
                         " ORDER BY lower(m.local_part) = lower($1) DESC LIMIT 1"};

/*
 * $1 login local part, $2 login domain, $3 sender domain: the mailbox, its
 * domain, whether it may send as its whole domain (the mailbox's or the
 * domain's send_as_domain, schema 0004), and the domain the sender's domain
 * stands for.
 */
static const struct db_stmt stmt_sender = {
    "recipient_sender", "SELECT u.id, u.domain_id, u.send_as_domain OR ud.send_as_domain,"
                        " coalesce((SELECT ad.target_domain_id FROM alias_domains ad"
                        "           WHERE ad.name = $3 AND ad.active),"
                        "          (SELECT d.id FROM domains d WHERE d.name = $3))"
                        " FROM mailbox_directory u JOIN domains ud ON ud.id = u.domain_id"
                        " WHERE u.domain = $2 AND lower(u.local_part) = lower($1)"};

const char *recipient_kind_name(enum recipient_kind kind)
{
	switch (kind) {
	case RECIPIENT_MAILBOX:
		return "mailbox";
	case RECIPIENT_DISABLED:
		return "disabled";
	case RECIPIENT_UNKNOWN:
		return "unknown";
	case RECIPIENT_RELAY:
		return "relay";
	case RECIPIENT_REMOTE:
		return "remote";
	}
	return "?";
}

static int kind_parse(const char *s, enum recipient_kind *kind_r)
{
	static const struct {
		const char *name;
		enum recipient_kind kind;
	} kinds[] = {
	    {"mailbox", RECIPIENT_MAILBOX}, {"disabled", RECIPIENT_DISABLED},
	    {"unknown", RECIPIENT_UNKNOWN}, {"relay", RECIPIENT_RELAY},
	    {"remote", RECIPIENT_REMOTE},
	};

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if (strcmp(s, kinds[i].name) == 0) {
			*kind_r = kinds[i].kind;
			return 0;
		}
	}
	return -1;
}

/* The delimiters as a text[] literal: {"+","-"}; only ASCII, as addr_split_extension(). */
static char *delimiter_array(const char *delimiters)
{
	struct sbuf b = {0};
	char *out;

	sbuf_append_str(&b, "{");
	for (const char *p = delimiters != NULL ? delimiters : ""; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c >= 0x80 || c < 0x21)
			continue;
		if (b.len > 1)
			sbuf_append_str(&b, ",");
		sbuf_append_str(&b, "\"");
		if (c == '"' || c == '\\')
			sbuf_append_str(&b, "\\");
		sbuf_append(&b, p, 1);
		sbuf_append_str(&b, "\"");
	}
	sbuf_append_str(&b, "}");
	out = xstrdup(sbuf_str(&b));
	sbuf_free(&b);
	return out;
}

static int64_t get_i64(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static bool get_bool(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

/* local + ext + "@" + domain into dest->address; drops the extension if it does not fit. */
static void set_address(struct recipient_dest *dest, const char *local, const char *ext,
                        const char *domain)
{
	if (strlen(local) + strlen(ext) > ADDR_LOCAL_MAX)
		ext = "";
	snprintf(dest->extension, sizeof(dest->extension), "%s", ext);
	if (domain[0] == '\0')
		snprintf(dest->address, sizeof(dest->address), "%.64s%s", local, ext);
	else
		snprintf(dest->address, sizeof(dest->address), "%.64s%s@%.255s", local, ext,
		         domain);
}

/* The mailbox columns starting at col (storage_dir, quotas, usage). */
static void set_mailbox_columns(struct recipient_dest *dest, const PGresult *res, int row, int col)
{
	dest->storage_dir = xstrdup(PQgetvalue(res, row, col));
	dest->quota_bytes = get_i64(res, row, col + 1);
	dest->quota_messages = get_i64(res, row, col + 2);
	dest->used_bytes = get_i64(res, row, col + 3);
	dest->used_messages = get_i64(res, row, col + 4);
}

static bool result_has(const struct recipient_result *res, const char *address)
{
	for (size_t i = 0; i < res->count; i++) {
		if (strcasecmp(res->dests[i].address, address) == 0)
			return true;
	}
	return false;
}

enum db_status recipient_resolve(struct db_conn *conn, const struct recipient_settings *set,
                                 const struct mail_address *addr, unsigned int flags,
                                 struct recipient_result *res_r, const char **error_r)
{
	char depth[16], limit[16], *delims;
	unsigned int max_depth = set->max_depth > 0 ? set->max_depth : 1;
	unsigned int max_dest = set->max_destinations > 0 ? set->max_destinations : 1;
	enum db_status st;
	PGresult *res;
	int rows;

	memset(res_r, 0, sizeof(*res_r));
	if (addr->domain[0] == '\0') {
		*error_r = "address has no domain";
		return DB_ERROR;
	}
	snprintf(depth, sizeof(depth), "%u", max_depth);
	snprintf(limit, sizeof(limit), "%u", max_dest + 1);
	delims = delimiter_array(set->delimiters);
	const char *params[6] = {addr->local,
	                         addr->domain,
	                         delims,
	                         depth,
	                         (flags & RECIPIENT_NO_CATCHALL) != 0 ? "false" : "true",
	                         limit};
	st = db_exec(conn, &stmt_resolve, 6, params, &res, error_r);
	free(delims);
	if (st != DB_OK)
		return st;

	rows = PQntuples(res);
	res_r->dests = xcalloc(rows > 0 ? (size_t)rows : 1, sizeof(*res_r->dests));
	if ((unsigned int)rows > max_dest) {
		res_r->truncated = true;
		rows = (int)max_dest;
	}
	for (int i = 0; i < rows; i++) {
		const char *kind = PQgetvalue(res, i, 0);
		struct recipient_dest d = {0};

		if (strcmp(kind, "node") == 0) {
			/* a branch cut by the CYCLE clause or the depth limit */
			res_r->loop = true;
			/* the first step told whether the address is ours */
			if (get_i64(res, i, 4) > 0)
				res_r->ours = true;
			continue;
		}
		if (kind_parse(kind, &d.kind) < 0) {
			PQclear(res);
			recipient_result_free(res_r);
			*error_r = "recipient_resolve: unexpected row kind";
			return DB_ERROR;
		}
		/* Only a first step that ends at once in a remote or relay domain is not ours. */
		if (get_i64(res, i, 4) > 1 ||
		    (d.kind != RECIPIENT_REMOTE && d.kind != RECIPIENT_RELAY))
			res_r->ours = true;
		set_address(&d, PQgetvalue(res, i, 1), PQgetvalue(res, i, 3),
		            PQgetvalue(res, i, 2));
		if (result_has(res_r, d.address))
			continue;
		d.via_catchall = get_bool(res, i, 5);
		d.mailbox_id = get_i64(res, i, 7);
		if (d.mailbox_id > 0)
			set_mailbox_columns(&d, res, i, 8);
		res_r->dests[res_r->count++] = d;
	}
	PQclear(res);
	return DB_OK;
}

void recipient_dest_free(struct recipient_dest *dest)
{
	free(dest->storage_dir);
	dest->storage_dir = NULL;
}

void recipient_result_free(struct recipient_result *res)
{
	for (size_t i = 0; i < res->count; i++)
		recipient_dest_free(&res->dests[i]);
	free(res->dests);
	memset(res, 0, sizeof(*res));
}

bool recipient_dest_over_quota(const struct recipient_dest *dest, uint64_t size)
{
	if (dest->kind != RECIPIENT_MAILBOX)
		return false;
	if (dest->quota_bytes > 0 && (dest->used_bytes >= dest->quota_bytes ||
	                              size > (uint64_t)(dest->quota_bytes - dest->used_bytes)))
		return true;
	return dest->quota_messages > 0 && dest->used_messages >= dest->quota_messages;
}

enum db_status recipient_mailbox_lookup(struct db_conn *conn, const struct recipient_settings *set,
                                        const struct mail_address *addr, bool *found_r,
                                        struct recipient_dest *dest_r, const char **error_r)
{
	char base[ADDR_LOCAL_BUFSZ], delim;
	const char *ext;
	size_t base_len;
	enum db_status st;
	PGresult *res;

	*found_r = false;
	memset(dest_r, 0, sizeof(*dest_r));
	if (addr->domain[0] == '\0') {
		*error_r = "address has no domain";
		return DB_ERROR;
	}
	(void)addr_split_extension(addr->local, set->delimiters, &base_len, &ext, &delim);
	memcpy(base, addr->local, base_len);
	base[base_len] = '\0';
	const char *params[3] = {addr->local, base, addr->domain};
	st = db_exec(conn, &stmt_mailbox, 3, params, &res, error_r);
	if (st != DB_OK)
		return st;
	if (PQntuples(res) == 1) {
		const char *local = PQgetvalue(res, 0, 1);
		bool exact = strcasecmp(local, addr->local) == 0;

		dest_r->kind = get_bool(res, 0, 3) ? RECIPIENT_MAILBOX : RECIPIENT_DISABLED;
		dest_r->mailbox_id = get_i64(res, 0, 0);
		set_address(dest_r, local, exact ? "" : addr->local + base_len,
		            PQgetvalue(res, 0, 2));
		set_mailbox_columns(dest_r, res, 0, 4);
		*found_r = true;
	}
	PQclear(res);
	return DB_OK;
}

/* Split a canonical login "local@domain" at its last '@'. */
static int split_login(const char *login, char *local, char *domain)
{
	const char *at = strrchr(login, '@');

	if (at == NULL || at == login || (size_t)(at - login) > ADDR_LOCAL_MAX ||
	    strlen(at + 1) == 0 || strlen(at + 1) > ADDR_DOMAIN_MAX)
		return -1;
	memcpy(local, login, (size_t)(at - login));
	local[at - login] = '\0';
	strcpy(domain, at + 1);
	return 0;
}

enum db_status recipient_may_send_as(struct db_conn *conn, const struct recipient_settings *set,
                                     const char *login, const struct mail_address *sender,
                                     bool *allowed_r, const char **error_r)
{
	char local[ADDR_LOCAL_BUFSZ], domain[ADDR_DOMAIN_BUFSZ], delim;
	struct recipient_result rr;
	int64_t mailbox_id, domain_id, sender_domain_id;
	bool send_as_domain;
	const char *ext;
	size_t base_len;
	enum db_status st;
	PGresult *res;

	*allowed_r = false;
	if (addr_is_null(sender)) {
		*allowed_r = true;
		return DB_OK;
	}
	if (sender->domain[0] == '\0' || split_login(login, local, domain) < 0)
		return DB_OK;
	const char *params[3] = {local, domain, sender->domain};
	st = db_exec(conn, &stmt_sender, 3, params, &res, error_r);
	if (st != DB_OK)
		return st;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return DB_OK; /* the mailbox is gone */
	}
	mailbox_id = get_i64(res, 0, 0);
	domain_id = get_i64(res, 0, 1);
	send_as_domain = get_bool(res, 0, 2);
	sender_domain_id = get_i64(res, 0, 3);
	PQclear(res);

	if (sender_domain_id == domain_id) {
		/* its own local part (or its base), in its domain or an alias domain of it */
		(void)addr_split_extension(sender->local, set->delimiters, &base_len, &ext, &delim);
		if ((strlen(local) == base_len &&
		     strncasecmp(local, sender->local, base_len) == 0) ||
		    strcasecmp(local, sender->local) == 0 || send_as_domain) {
			*allowed_r = true;
			return DB_OK;
		}
	}
	/* an address whose mail reaches this mailbox */
	st = recipient_resolve(conn, set, sender, RECIPIENT_NO_CATCHALL, &rr, error_r);
	if (st != DB_OK)
		return st;
	for (size_t i = 0; i < rr.count; i++) {
		if (rr.dests[i].kind == RECIPIENT_MAILBOX && rr.dests[i].mailbox_id == mailbox_id &&
		    !rr.dests[i].via_catchall)
			*allowed_r = true;
	}
	recipient_result_free(&rr);
	return DB_OK;
}
