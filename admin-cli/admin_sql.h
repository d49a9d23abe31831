/*
 * admin_sql.h: sluice-admin's use of the database: statements run through
 * lib/db.h with every failure turned into one error line and a sysexits code,
 * the transaction of a change, the audit log row each change writes, the
 * lookups every command shares (a domain, with its row locked when a limit is
 * checked, a mailbox, an alias, an alias domain), lists and one-row shows,
 * and the alias loop check.
 */
#ifndef SLUICE_ADMIN_SQL_H
#define SLUICE_ADMIN_SQL_H

#include <libpq-fe.h>
#include <stdint.h>

#include "addr.h"
#include "db.h"

struct admin_ctx;

/* Rows fetched per statement when a list is paged through (keyset pagination). */
#define ADMIN_PAGE_ROWS 1000

/* SQL: a timestamp column as UTC text, "2024-07-01T18:00:00Z". */
#define ADMIN_SQL_UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/*
 * Run a statement. 0 with *res_r to PQclear() (res_r may be NULL), or the
 * sysexits status after printing why: EX_TEMPFAIL (unavailable, timeout,
 * serialization failure), EX_NOPERM, EX_CANTCREAT (unique violation), EX_CONFIG
 * (schema missing), EX_DATAERR (constraint), EX_SOFTWARE (anything else).
 */
int admin_exec(struct admin_ctx *ctx, const struct db_stmt *stmt, int nparams,
               const char *const *params, PGresult **res_r);
/* Begin the transaction of a change (opening the connection first). */
int admin_begin(struct admin_ctx *ctx);
/* Commit it; a failure is reported like admin_exec's. */
int admin_commit(struct admin_ctx *ctx);
/* Roll back if a transaction is open. */
void admin_rollback(struct admin_ctx *ctx);

struct out_col;

/*
 * Print a list a page at a time (keyset pagination, so each page is one
 * indexed query however long the list): stmt takes the nfixed params, then
 * nkeys key params (initially initial_keys, then the last row's trailing
 * nkeys fields, which follow the ncols printed ones), then the page size.
 * first (may be NULL: stmt) runs for the first page, for keys that can equal
 * the initial ones (">=" there, ">" after). limit > 0 stops after that many
 * rows. *count_r (may be NULL) gets the count.
 */
int admin_list(struct admin_ctx *ctx, const struct db_stmt *first, const struct db_stmt *stmt,
               const char *const *fixed, int nfixed, const char *const *initial_keys, int nkeys,
               const struct out_col *cols, unsigned ncols, int64_t limit, uint64_t *count_r);
/*
 * admin_list() of one domain's rows: domain_text is parsed and looked up
 * (EX_DATAERR, EX_NOUSER), and its id is stmt's one fixed parameter.
 */
int admin_list_domain(struct admin_ctx *ctx, const char *domain_text, const struct db_stmt *first,
                      const struct db_stmt *stmt, const char *const *initial_keys, int nkeys,
                      const struct out_col *cols, unsigned ncols, int64_t limit);

/*
 * Print the one row stmt returns with out_object(), or fail with EX_NOUSER
 * and the message missing_fmt makes when it returns none.
 */
int admin_show(struct admin_ctx *ctx, const struct db_stmt *stmt, int nparams,
               const char *const *params, const struct out_col *cols, unsigned ncols,
               const char *missing_fmt, ...) __attribute__((format(printf, 7, 8)));
/*
 * admin_show() of the row of an address given on the command line: stmt
 * takes $1 the domain id and $2 the local part; "no such <noun>: <address>"
 * when it returns none. allow_catchall accepts "@domain".
 */
int admin_show_address(struct admin_ctx *ctx, const char *text, int allow_catchall,
                       const struct db_stmt *stmt, const struct out_col *cols, unsigned ncols,
                       const char *noun);

/* A PostgreSQL array literal of n strings, for a text[] parameter; free() it. */
char *admin_text_array(const char *const *values, unsigned n);

/*
 * Serialize changes to the names of domains and alias domains (one name may
 * not be both) with a transaction-scoped advisory lock.
 */
int admin_lock_domain_names(struct admin_ctx *ctx);

/* A domain row. */
struct admin_domain {
	int64_t id;
	char name[ADDR_DOMAIN_BUFSZ];
	int active;
	int backup_mx;
	int64_t max_mailboxes; /* 0: no limit */
	int64_t max_aliases;   /* 0: no limit */
	int64_t quota_bytes;   /* 0: no limit */
	int64_t default_mailbox_quota_bytes;
};

/*
 * Find a domain by normalized name; with lock, SELECT ... FOR UPDATE so that
 * concurrent changes to its mailboxes and aliases wait for this transaction
 * (the limits are checked under this lock). EX_NOUSER when there is none,
 * with a hint when the name is an alias domain.
 */
int admin_domain_get(struct admin_ctx *ctx, const char *name, int lock, struct admin_domain *d);

/* The target domain of alias domain name into target (ADDR_DOMAIN_BUFSZ), "" when none. */
int admin_alias_domain_target(struct admin_ctx *ctx, const char *name, char *target);
/*
 * Before a new domain or alias domain takes name (domain and alias domain
 * names are one namespace): admin_lock_domain_names(), then who has the name
 * now: alias_target (ADDR_DOMAIN_BUFSZ) the target when it is an alias
 * domain, else "" and *is_domain whether it is a domain.
 */
int admin_domain_name_owner(struct admin_ctx *ctx, const char *name, char *alias_target,
                            int *is_domain);

/* Whether a mailbox exists: *id_r is its id, or 0 when there is none. */
int admin_mailbox_id(struct admin_ctx *ctx, int64_t domain_id, const char *local, int64_t *id_r);
/* Whether an alias (local "" for the catch-all) exists: *id_r or 0. */
int admin_alias_id(struct admin_ctx *ctx, int64_t domain_id, const char *local, int64_t *id_r);

/*
 * The mailbox at addr (full: its address as printed): its domain (d, may be
 * NULL; locked with lock, as admin_domain_get) and *id_r. EX_NOUSER "no such
 * mailbox: <full>" when there is none.
 */
int admin_mailbox_find(struct admin_ctx *ctx, const struct mail_address *addr, const char *full,
                       int lock, struct admin_domain *d, int64_t *id_r);
/* The same for an alias or a catch-all: EX_NOUSER "no such alias: <full>". */
int admin_alias_find(struct admin_ctx *ctx, const struct mail_address *addr, const char *full,
                     int lock, struct admin_domain *d, int64_t *id_r);
/* The mailbox an argument names: parsed into full (ADDR_BUFSZ), then admin_mailbox_find(). */
int admin_mailbox_arg(struct admin_ctx *ctx, const char *text, char *full, int64_t *id_r);

/*
 * Write the audit log row of the current change (inside its transaction):
 * actor is the Unix user, details a JSON object that never holds a password
 * or a hash.
 */
int admin_audit(struct admin_ctx *ctx, const char *action, const char *object,
                const char *details_json);
/*
 * End a change: its audit row, the commit, then its result on stdout
 * (out_change(): the message fmt makes, or with --json the action, object
 * and details). Nothing is printed when any step fails.
 */
int admin_change(struct admin_ctx *ctx, const char *action, const char *object,
                 const char *details_json, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The Unix user running us, "name" or "uid N" (for the audit log). */
const char *admin_actor(struct admin_ctx *ctx);

/*
 * After a change to the aliases, mailboxes or alias domains (inside its
 * transaction): check that mail to none of the n addresses (canonical
 * "local@domain", "@domain" for a catch-all) can come back to it through
 * aliases, alias domains and catch-alls. EX_DATAERR naming the loop if one
 * does; a self-destination of an alias whose address has a mailbox (keep a
 * copy) is not a loop.
 */
int admin_check_loops(struct admin_ctx *ctx, const char *const *addrs, unsigned n);

#endif
