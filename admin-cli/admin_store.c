/*
 * admin_store.c: `sluice-admin store check [MAILBOX | --domain DOMAIN]` and
 * `sluice-admin quota recalc [MAILBOX | --domain DOMAIN]`, over the mail
 * store library (lib/store.h), which holds the rules.
 *
 * store check compares each mailbox's index rows with the files under
 * mail_root/<storage_dir>/ and, unless --dry-run, removes files no row names
 * (older than the grace period), expunges rows whose file is gone, clears
 * crash leftovers in mail_root/tmp, raises a bad UIDNEXT and recounts the
 * usage. quota recalc only recounts. Both need the files' owner (root or
 * run_user) and the admin role; they use a pool of their own so the store
 * can borrow connections as it does in the daemons.
 */
#include "admin.h"
#include "admin_output.h"
#include "config.h"
#include "db.h"
#include "store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_DOMAIN = 0x100, O_DRY_RUN, O_GRACE };

static const struct db_stmt stmt_mailboxes = {
    "admin_store_mailboxes",
    "SELECT id FROM mailbox_directory WHERE $1::text IS NULL OR domain = $1 ORDER BY id"};

struct run {
	struct admin_ctx *ctx;
	struct db_pool *pool;
	struct store *store;
};

static int store_rc(int status, const char *what, const char *error)
{
	switch (status) {
	case STORE_TEMPFAIL:
		return admin_unavailable(error);
	case STORE_NOT_FOUND:
		return admin_error(EX_NOUSER, "%s: %s", what, error);
	case STORE_IO_ERROR:
	case STORE_DISK_FULL:
		return admin_error(EX_IOERR, "%s: %s", what, error);
	default:
		return admin_error(EX_SOFTWARE, "%s: %s", what, error);
	}
}

static int run_open(struct admin_ctx *ctx, struct run *r)
{
	struct db_pool_settings set;
	struct store_settings sset;
	const char *error;
	int rc;

	memset(r, 0, sizeof(*r));
	r->ctx = ctx;
	if ((rc = admin_config(ctx)) != 0)
		return rc;
	db_pool_settings_from_config(&set, ctx->cfg, "admin");
	set.size = 1;
	set.application_name = "sluice-admin";
	r->pool = db_pool_create(&set);
	sset.mail_root = config_str(ctx->cfg, "mail_root");
	if ((rc = store_create(&sset, r->pool, &r->store, &error)) != STORE_OK)
		return store_rc(rc, "mail store", error);
	return 0;
}

static void run_close(struct run *r)
{
	store_destroy(&r->store);
	db_pool_destroy(&r->pool);
}

/* The mailbox ids to work on: one address, one domain's, or all. */
static int select_mailboxes(struct run *r, const char *address, const char *domain_arg,
                            int64_t **ids_r, size_t *n_r)
{
	struct store_mailbox mb;
	struct mail_address addr;
	char domain[ADDR_DOMAIN_BUFSZ];
	struct db_conn *conn;
	PGresult *res = NULL;
	const char *error = NULL, *params[1] = {NULL};
	int rc;

	*ids_r = NULL;
	*n_r = 0;
	if (address != NULL) {
		if ((rc = admin_parse_address(address, 0, &addr)) != 0)
			return rc;
		rc = store_mailbox_lookup(r->store, addr.local, addr.domain, &mb, &error);
		if (rc != STORE_OK)
			return store_rc(rc, address,
			                rc == STORE_NOT_FOUND ? "no such mailbox" : error);
		*ids_r = xmalloc(sizeof(int64_t));
		(*ids_r)[0] = mb.id;
		*n_r = 1;
		return 0;
	}
	if (domain_arg != NULL) {
		if ((rc = admin_parse_domain(domain_arg, domain)) != 0)
			return rc;
		params[0] = domain;
	}
	if ((conn = db_acquire(r->pool, &error)) == NULL)
		return store_rc(STORE_TEMPFAIL, "", error);
	if (db_exec(conn, &stmt_mailboxes, 1, params, &res, &error) != DB_OK) {
		db_release(&conn);
		return store_rc(STORE_TEMPFAIL, "", error);
	}
	db_release(&conn);
	if (domain_arg != NULL && PQntuples(res) == 0) {
		PQclear(res);
		return admin_error(EX_NOUSER, "no mailboxes in domain %s", domain);
	}
	*n_r = (size_t)PQntuples(res);
	*ids_r = xcalloc(*n_r > 0 ? *n_r : 1, sizeof(int64_t));
	for (size_t i = 0; i < *n_r; i++)
		(*ids_r)[i] = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
	PQclear(res);
	return 0;
}

static void print_report(struct admin_ctx *ctx, const char *what,
                         const struct store_check_report *rep, size_t mailboxes, int repair)
{
	if (ctx->json) {
		struct json_obj o;

		json_obj_init(&o);
		json_obj_str(&o, "action", what);
		json_obj_bool(&o, "repaired", repair);
		json_obj_int(&o, "mailboxes", (int64_t)mailboxes);
		json_obj_int(&o, "rows", (int64_t)rep->rows);
		json_obj_int(&o, "files", (int64_t)rep->files);
		json_obj_int(&o, "orphan_files", (int64_t)rep->orphan_files);
		json_obj_int(&o, "missing_files", (int64_t)rep->missing_files);
		json_obj_int(&o, "young_files", (int64_t)rep->young_files);
		json_obj_int(&o, "tmp_files", (int64_t)rep->tmp_files);
		json_obj_int(&o, "uidnext_fixed", (int64_t)rep->uidnext_fixed);
		json_obj_int(&o, "old_bytes", rep->old_bytes);
		json_obj_int(&o, "old_messages", rep->old_messages);
		json_obj_int(&o, "new_bytes", rep->new_bytes);
		json_obj_int(&o, "new_messages", rep->new_messages);
		printf("%s\n", json_obj_finish(&o));
		json_obj_free(&o);
		return;
	}
	if (strcmp(what, "quota recalc") == 0) {
		printf("recounted %zu mailbox(es): %lld bytes in %lld messages (was %lld bytes in "
		       "%lld messages)\n",
		       mailboxes, (long long)rep->new_bytes, (long long)rep->new_messages,
		       (long long)rep->old_bytes, (long long)rep->old_messages);
		return;
	}
	printf("checked %zu mailbox(es): %llu rows, %llu files\n", mailboxes,
	       (unsigned long long)rep->rows, (unsigned long long)rep->files);
	printf("files without a row: %llu%s\n", (unsigned long long)rep->orphan_files,
	       repair && rep->orphan_files > 0 ? " (removed)" : "");
	printf("rows without a file: %llu%s\n", (unsigned long long)rep->missing_files,
	       repair && rep->missing_files > 0 ? " (expunged)" : "");
	printf("temporary files left by a crash: %llu%s\n", (unsigned long long)rep->tmp_files,
	       repair && rep->tmp_files > 0 ? " (removed)" : "");
	if (rep->young_files > 0)
		printf("files without a row, younger than the grace period: %llu (left alone)\n",
		       (unsigned long long)rep->young_files);
	if (rep->uidnext_fixed > 0)
		printf("folders whose UIDNEXT was raised: %llu\n",
		       (unsigned long long)rep->uidnext_fixed);
	if (repair)
		printf("usage recounted: %lld bytes in %lld messages (was %lld bytes in %lld "
		       "messages)\n",
		       (long long)rep->new_bytes, (long long)rep->new_messages,
		       (long long)rep->old_bytes, (long long)rep->old_messages);
}

static int cmd_check_or_recalc(struct admin_ctx *ctx, int argc, char **argv, int check)
{
	static const struct option longopts[] = {
	    {"domain", required_argument, NULL, O_DOMAIN},
	    {"dry-run", no_argument, NULL, O_DRY_RUN},
	    {"grace", required_argument, NULL, O_GRACE},
	    ADMIN_COMMON_OPTIONS,
	};
	struct store_check_options opt = {.repair = true, .grace_seconds = -1};
	struct store_check_report rep = {0};
	const char *domain_arg = NULL, *error = NULL;
	int64_t *ids = NULL, value;
	size_t n = 0, i;
	struct run r;
	int c, rc;

	while ((c = admin_getopt(ctx, argc, argv, ADMIN_COMMON_SHORTOPTS, longopts)) != -1) {
		if (c == O_DOMAIN) {
			domain_arg = optarg;
		} else if (c == O_DRY_RUN && check) {
			opt.repair = false;
		} else if (c == O_GRACE && check) {
			if (config_parse_value(SETTING_DURATION, optarg, &value) < 0 || value < 0)
				return admin_error(EX_DATAERR, "--grace: not a duration: %s",
				                   optarg);
			opt.grace_seconds = value / 1000;
		} else {
			return c == '?' ? EX_USAGE : admin_usage(ctx, "unknown option");
		}
	}
	if ((rc = admin_mailbox_or_domain(ctx, &argc, &argv, domain_arg)) != 0)
		return rc;
	if ((rc = run_open(ctx, &r)) != 0) {
		run_close(&r);
		return rc;
	}
	if (opt.grace_seconds < 0)
		opt.grace_seconds = config_duration_ms(ctx->cfg, "store_check_grace") / 1000;
	rc = select_mailboxes(&r, argc == 1 ? argv[0] : NULL, domain_arg, &ids, &n);
	for (i = 0; rc == 0 && i < n; i++) {
		struct store_mailbox mb;
		int st = store_mailbox_by_id(r.store, ids[i], &mb, &error);

		if (st == STORE_NOT_FOUND)
			continue; /* deleted meanwhile */
		if (st == STORE_OK)
			st = check ? store_check_mailbox(r.store, &mb, &opt, &rep, &error)
			           : store_quota_recalc(r.store, mb.id, &rep, &error);
		if (st != STORE_OK)
			rc = store_rc(st, mb.storage_dir, error);
	}
	/* the tmp folder belongs to no mailbox: only a whole-store check cleans it */
	if (rc == 0 && check && argc == 0 && domain_arg == NULL &&
	    (rc = store_check_tmp(r.store, &opt, &rep, &error)) != STORE_OK)
		rc = store_rc(rc, "tmp", error);
	if (rc == 0)
		print_report(ctx, check ? "store check" : "quota recalc", &rep, n, opt.repair);
	free(ids);
	run_close(&r);
	return rc;
}

static int cmd_check(struct admin_ctx *ctx, int argc, char **argv)
{
	return cmd_check_or_recalc(ctx, argc, argv, 1);
}

static int cmd_recalc(struct admin_ctx *ctx, int argc, char **argv)
{
	return cmd_check_or_recalc(ctx, argc, argv, 0);
}

const struct admin_cmd admin_store_cmds[] = {
    {"store", "check", cmd_check, "[MAILBOX | --domain DOMAIN] [--dry-run] [--grace DURATION]",
     "Find and repair differences between the mail store's files and its index",
     "Compares the index rows of each mailbox (all of them, one, or a domain's)\n"
     "with the message files under mail_root. Unless --dry-run, it removes files\n"
     "no row names (a delivery cut off before its commit) once they are older than\n"
     "the grace period, expunges rows whose file is gone, removes leftovers in\n"
     "mail_root/tmp (whole-store runs only), raises a folder's UIDNEXT that is not\n"
     "above its UIDs, and recounts the quota usage. Run it as root or run_user.\n\n"
     "Options:\n"
     "  --domain DOMAIN   the mailboxes of this domain\n"
     "  --dry-run         report only, change nothing\n"
     "  --grace DURATION  leave files younger than this (default store_check_grace)\n"},
    {"quota", "recalc", cmd_recalc, "[MAILBOX | --domain DOMAIN]",
     "Count quota usage again from the stored messages",
     "Sets each mailbox's usage (bytes and messages) to the sum of its messages,\n"
     "under the lock deliveries take, for all mailboxes, one, or a domain's.\n\n"
     "Options:\n"
     "  --domain DOMAIN   the mailboxes of this domain\n"},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
