/*
 * admin_sql.c: statements, transactions, shared lookups, and the list and
 * show steps of sluice-admin's commands (see admin_sql.h). Every database
 * failure becomes one error line on stderr and a sysexits code chosen from
 * the SQLSTATE; the caller only returns that code, and admin_main.c rolls
 * back whatever transaction is still open, so an error never leaves half a
 * change behind.
 */
#include "admin_sql.h"
#include "admin.h"
#include "admin_output.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The first line of a database message, without lib/db.c's "statement:
 * (SQLSTATE xxxxx) " prefix (the code chose our exit status already) or
 * libpq's "ERROR:  ".
 */
static void clean_message(const char *error, char *out, size_t outsz)
{
	const char *state;
	size_t len;

	if (error == NULL)
		error = "unknown error";
	state = strstr(error, "(SQLSTATE ");
	if (state != NULL && strchr(state, ')') != NULL)
		error = strchr(state, ')') + 1;
	if (strncmp(error, "ERROR:", 6) == 0 || strncmp(error, "FATAL:", 6) == 0)
		error += 6;
	while (*error == ' ')
		error++;
	len = strcspn(error, "\r\n");
	if (len >= outsz)
		len = outsz - 1;
	memcpy(out, error, len);
	out[len] = '\0';
}

static int report(struct admin_ctx *ctx, enum db_status st, const char *error)
{
	const char *state = ctx->conn != NULL ? db_last_sqlstate(ctx->conn) : "";
	char msg[512];

	clean_message(error, msg, sizeof(msg));
	if (st == DB_TEMPFAIL || strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
	    strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0 ||
	    strncmp(state, "57P", 3) == 0)
		return admin_unavailable(msg);
	if (strcmp(state, "42501") == 0)
		return admin_error(EX_NOPERM,
		                   "permission denied by the database: %s (does admin_db_url "
		                   "log in as a member of sluice_admin?)",
		                   msg);
	if (strcmp(state, "42P01") == 0 || strcmp(state, "42703") == 0 ||
	    strcmp(state, "42883") == 0)
		return admin_error(EX_CONFIG,
		                   "database schema missing or too old (%s): run "
		                   "'sluice-admin db migrate'",
		                   msg);
	if (strcmp(state, "23505") == 0)
		return admin_error(EX_CANTCREAT, "already exists: %s", msg);
	if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
		return admin_error(EX_DATAERR, "rejected by the database: %s", msg);
	return admin_error(EX_SOFTWARE, "database error%s%s: %s", state[0] != '\0' ? " " : "",
	                   state, msg);
}

int admin_exec(struct admin_ctx *ctx, const struct db_stmt *stmt, int nparams,
               const char *const *params, PGresult **res_r)
{
	PGresult *res = NULL;
	const char *error = NULL;
	enum db_status st;
	int rc;

	if (res_r != NULL)
		*res_r = NULL;
	if ((rc = admin_conn(ctx)) != 0)
		return rc;
	st = db_exec(ctx->conn, stmt, nparams, params, &res, &error);
	if (st != DB_OK)
		return report(ctx, st, error);
	if (res_r != NULL)
		*res_r = res;
	else
		PQclear(res);
	return 0;
}

int admin_begin(struct admin_ctx *ctx)
{
	const char *error = NULL;
	enum db_status st;
	int rc;

	if ((rc = admin_conn(ctx)) != 0)
		return rc;
	st = db_begin(ctx->conn, &error);
	if (st != DB_OK)
		return report(ctx, st, error);
	ctx->in_txn = 1;
	return 0;
}

int admin_commit(struct admin_ctx *ctx)
{
	const char *error = NULL;
	enum db_status st;

	st = db_commit(ctx->conn, &error);
	ctx->in_txn = 0;
	if (st != DB_OK) {
		db_rollback(ctx->conn);
		return report(ctx, st, error);
	}
	return 0;
}

void admin_rollback(struct admin_ctx *ctx)
{
	if (ctx->in_txn && ctx->conn != NULL)
		db_rollback(ctx->conn);
	ctx->in_txn = 0;
}

static const struct db_stmt stmt_domain_get = {
    "admin_domain_get",
    "SELECT id, name, active, backup_mx, max_mailboxes, max_aliases, quota_bytes,"
    " default_mailbox_quota_bytes FROM domains WHERE name = $1"};
static const struct db_stmt stmt_domain_lock = {
    "admin_domain_lock",
    "SELECT id, name, active, backup_mx, max_mailboxes, max_aliases, quota_bytes,"
    " default_mailbox_quota_bytes FROM domains WHERE name = $1 FOR UPDATE"};
static const struct db_stmt stmt_alias_domain_target = {
    "admin_alias_domain_target",
    "SELECT d.name FROM alias_domains a JOIN domains d ON d.id = a.target_domain_id"
    " WHERE a.name = $1"};
static const struct db_stmt stmt_domain_exists = {"admin_domain_exists",
                                                  "SELECT 1 FROM domains WHERE name = $1"};

int admin_alias_domain_target(struct admin_ctx *ctx, const char *name, char *target)
{
	const char *params[1] = {name};
	PGresult *res;
	int rc;

	target[0] = '\0';
	if ((rc = admin_exec(ctx, &stmt_alias_domain_target, 1, params, &res)) != 0)
		return rc;
	if (PQntuples(res) > 0)
		snprintf(target, ADDR_DOMAIN_BUFSZ, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int admin_domain_name_owner(struct admin_ctx *ctx, const char *name, char *alias_target,
                            int *is_domain)
{
	const char *params[1] = {name};
	PGresult *res;
	int rc;

	*is_domain = 0;
	if ((rc = admin_lock_domain_names(ctx)) != 0 ||
	    (rc = admin_alias_domain_target(ctx, name, alias_target)) != 0)
		return rc;
	if (alias_target[0] != '\0')
		return 0;
	if ((rc = admin_exec(ctx, &stmt_domain_exists, 1, params, &res)) != 0)
		return rc;
	*is_domain = PQntuples(res) > 0;
	PQclear(res);
	return 0;
}

int admin_domain_get(struct admin_ctx *ctx, const char *name, int lock, struct admin_domain *d)
{
	const char *params[1] = {name};
	char target[ADDR_DOMAIN_BUFSZ];
	PGresult *res;
	int rc;

	rc = admin_exec(ctx, lock ? &stmt_domain_lock : &stmt_domain_get, 1, params, &res);
	if (rc != 0)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		if ((rc = admin_alias_domain_target(ctx, name, target)) != 0)
			return rc;
		if (target[0] != '\0')
			return admin_error(EX_NOUSER,
			                   "%s is an alias domain of %s, not a domain: use %s",
			                   name, target, target);
		return admin_error(EX_NOUSER, "no such domain: %s", name);
	}
	memset(d, 0, sizeof(*d));
	d->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(d->name, sizeof(d->name), "%s", PQgetvalue(res, 0, 1));
	d->active = PQgetvalue(res, 0, 2)[0] == 't';
	d->backup_mx = PQgetvalue(res, 0, 3)[0] == 't';
	d->max_mailboxes = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	d->max_aliases = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
	d->quota_bytes = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
	d->default_mailbox_quota_bytes = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
	PQclear(res);
	return 0;
}

static const struct db_stmt stmt_mailbox_id = {
    "admin_mailbox_id",
    "SELECT id FROM mailboxes WHERE domain_id = $1 AND lower(local_part) = lower($2)"};
static const struct db_stmt stmt_alias_id = {
    "admin_alias_id",
    "SELECT id FROM aliases WHERE domain_id = $1 AND lower(local_part) = lower($2)"};

static int find_id(struct admin_ctx *ctx, const struct db_stmt *stmt, int64_t domain_id,
                   const char *local, int64_t *id_r)
{
	char idbuf[24];
	const char *params[2] = {idbuf, local};
	PGresult *res;
	int rc;

	snprintf(idbuf, sizeof(idbuf), "%" PRId64, domain_id);
	*id_r = 0;
	if ((rc = admin_exec(ctx, stmt, 2, params, &res)) != 0)
		return rc;
	if (PQntuples(res) > 0)
		*id_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

int admin_mailbox_id(struct admin_ctx *ctx, int64_t domain_id, const char *local, int64_t *id_r)
{
	return find_id(ctx, &stmt_mailbox_id, domain_id, local, id_r);
}

int admin_alias_id(struct admin_ctx *ctx, int64_t domain_id, const char *local, int64_t *id_r)
{
	return find_id(ctx, &stmt_alias_id, domain_id, local, id_r);
}

/* The domain, then the id stmt finds in it; EX_NOUSER "no such <noun>: <full>". */
static int find_in_domain(struct admin_ctx *ctx, const struct db_stmt *stmt, const char *noun,
                          const struct mail_address *addr, const char *full, int lock,
                          struct admin_domain *d, int64_t *id_r)
{
	struct admin_domain local_d;
	int rc;

	if (d == NULL)
		d = &local_d;
	if ((rc = admin_domain_get(ctx, addr->domain, lock, d)) != 0 ||
	    (rc = find_id(ctx, stmt, d->id, addr->local, id_r)) != 0)
		return rc;
	if (*id_r == 0)
		return admin_error(EX_NOUSER, "no such %s: %s", noun, full);
	return 0;
}

int admin_mailbox_find(struct admin_ctx *ctx, const struct mail_address *addr, const char *full,
                       int lock, struct admin_domain *d, int64_t *id_r)
{
	return find_in_domain(ctx, &stmt_mailbox_id, "mailbox", addr, full, lock, d, id_r);
}

int admin_alias_find(struct admin_ctx *ctx, const struct mail_address *addr, const char *full,
                     int lock, struct admin_domain *d, int64_t *id_r)
{
	return find_in_domain(ctx, &stmt_alias_id, "alias", addr, full, lock, d, id_r);
}

int admin_mailbox_arg(struct admin_ctx *ctx, const char *text, char *full, int64_t *id_r)
{
	struct mail_address addr;
	int rc;

	if ((rc = admin_parse_address(text, 0, &addr)) != 0)
		return rc;
	addr_format(&addr, full);
	return admin_mailbox_find(ctx, &addr, full, 0, NULL, id_r);
}

int admin_list(struct admin_ctx *ctx, const struct db_stmt *first, const struct db_stmt *stmt,
               const char *const *fixed, int nfixed, const char *const *initial_keys, int nkeys,
               const struct out_col *cols, unsigned ncols, int64_t limit, uint64_t *count_r)
{
	const char *params[16];
	char *keys[4] = {NULL};
	char pagebuf[ADMIN_I64_BUFSZ];
	struct out_list *list = NULL;
	PGresult *res = NULL;
	int64_t page = ADMIN_PAGE_ROWS, left = limit;
	int rc = 0, rows;

	if (nfixed + nkeys + 1 > (int)ARRAY_SIZE(params) || nkeys > (int)ARRAY_SIZE(keys))
		log_panic("admin_list: too many parameters");
	for (int i = 0; i < nkeys; i++)
		keys[i] = xstrdup(initial_keys[i]);
	/* Connect before printing anything, so an outage prints no half list. */
	if ((rc = admin_conn(ctx)) != 0)
		goto out;
	for (;;) {
		int64_t want = limit > 0 && left < page ? left : page;

		for (int i = 0; i < nfixed; i++)
			params[i] = fixed[i];
		for (int i = 0; i < nkeys; i++)
			params[nfixed + i] = keys[i];
		params[nfixed + nkeys] = admin_i64(pagebuf, want);
		rc = admin_exec(ctx, list == NULL && first != NULL ? first : stmt,
		                nfixed + nkeys + 1, params, &res);
		if (rc != 0)
			goto out;
		if (PQnfields(res) != (int)ncols + nkeys)
			log_panic("admin_list %s: %d fields, want %u + %d", stmt->name,
			          PQnfields(res), ncols, nkeys);
		if (list == NULL)
			list = out_list_begin(ctx->json, cols, ncols);
		out_list_rows(list, res);
		rows = PQntuples(res);
		if (rows > 0) {
			for (int i = 0; i < nkeys; i++) {
				free(keys[i]);
				keys[i] = xstrdup(PQgetvalue(res, rows - 1, (int)ncols + i));
			}
		}
		PQclear(res);
		res = NULL;
		left -= rows;
		if (rows < want || (limit > 0 && left <= 0))
			break;
	}
out:
	if (count_r != NULL)
		*count_r = list != NULL ? out_list_count(list) : 0;
	if (rc == 0)
		out_list_end(&list);
	else
		out_list_abort(&list);
	for (int i = 0; i < nkeys; i++)
		free(keys[i]);
	return rc;
}

int admin_list_domain(struct admin_ctx *ctx, const char *domain_text, const struct db_stmt *first,
                      const struct db_stmt *stmt, const char *const *initial_keys, int nkeys,
                      const struct out_col *cols, unsigned ncols, int64_t limit)
{
	char domain[ADDR_DOMAIN_BUFSZ], idbuf[ADMIN_I64_BUFSZ];
	struct admin_domain d;
	int rc;

	if ((rc = admin_parse_domain(domain_text, domain)) != 0 ||
	    (rc = admin_domain_get(ctx, domain, 0, &d)) != 0)
		return rc;
	const char *fixed[1] = {admin_i64(idbuf, d.id)};
	return admin_list(ctx, first, stmt, fixed, 1, initial_keys, nkeys, cols, ncols, limit,
	                  NULL);
}

int admin_show(struct admin_ctx *ctx, const struct db_stmt *stmt, int nparams,
               const char *const *params, const struct out_col *cols, unsigned ncols,
               const char *missing_fmt, ...)
{
	PGresult *res;
	va_list ap;
	int rc;

	if ((rc = admin_exec(ctx, stmt, nparams, params, &res)) != 0)
		return rc;
	if (PQntuples(res) == 0) {
		char *missing;

		va_start(ap, missing_fmt);
		missing = admin_vasprintf(missing_fmt, ap);
		va_end(ap);
		rc = admin_error(EX_NOUSER, "%s", missing);
		free(missing);
	} else {
		out_object(ctx->json, cols, ncols, res, 0);
	}
	PQclear(res);
	return rc;
}

int admin_show_address(struct admin_ctx *ctx, const char *text, int allow_catchall,
                       const struct db_stmt *stmt, const struct out_col *cols, unsigned ncols,
                       const char *noun)
{
	char full[ADDR_BUFSZ], idbuf[ADMIN_I64_BUFSZ];
	struct mail_address addr;
	struct admin_domain d;
	int rc;

	if ((rc = admin_parse_address(text, allow_catchall, &addr)) != 0)
		return rc;
	addr_format(&addr, full);
	if ((rc = admin_domain_get(ctx, addr.domain, 0, &d)) != 0)
		return rc;
	const char *params[2] = {admin_i64(idbuf, d.id), addr.local};
	return admin_show(ctx, stmt, 2, params, cols, ncols, "no such %s: %s", noun, full);
}

/* An arbitrary constant: the advisory lock key of domain and alias domain names. */
#define ADMIN_NAMES_LOCK_KEY "7308395547281731"

static const struct db_stmt stmt_lock_names = {
    "admin_lock_names", "SELECT pg_advisory_xact_lock(" ADMIN_NAMES_LOCK_KEY ")"};

int admin_lock_domain_names(struct admin_ctx *ctx)
{
	return admin_exec(ctx, &stmt_lock_names, 0, NULL, NULL);
}

char *admin_text_array(const char *const *values, unsigned n)
{
	struct sbuf b = {0};

	sbuf_append_str(&b, "{");
	for (unsigned i = 0; i < n; i++) {
		if (i > 0)
			sbuf_append_str(&b, ",");
		/* Every element quoted, with '"' and '\' escaped by a backslash. */
		sbuf_append_str(&b, "\"");
		for (const char *p = values[i]; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				sbuf_append_str(&b, "\\");
			sbuf_append(&b, p, 1);
		}
		sbuf_append_str(&b, "\"");
	}
	sbuf_append_str(&b, "}");
	return b.data;
}
