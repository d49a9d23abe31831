/*
 * store_imap.c: IMAP APPEND into the store, one or many messages in one
 * transaction (see store_imap.h). The order is store_deliver()'s: each
 * message's temporary file (fsynced by store_msg_finish) gets a hard link
 * in the mailbox, each directory holding new links is fsynced once, then
 * the rows are added by sluice_store_append (schema 0002), which checks
 * the quota under the mailbox's lock, so several messages count against
 * it together. Links of a failed append are removed, except when the
 * commit's outcome is unknown (then `store check` finds any orphan).
 */
#include "log.h"
#include "store_imap.h"
#include "store_private.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_stmt stmt_append = {
    "store_imap_append",
    "SELECT status, uid, modseq FROM sluice_store_append($1, $2, $3, '', $4, $5, $6, $7, $8, $9,"
    " true, $10)"};

struct item_work {
	char blob[STORE_BLOB_MAX];
	char dir[PATH_MAX];
	bool linked;
};

static void unlink_all(struct store *st, const struct store_mailbox *mb, struct item_work *w,
		       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (w[i].linked)
			store_blob_unlink(st, mb->storage_dir, w[i].blob);
	}
}

/* Hard-link every message into the mailbox and fsync each directory once. */
static int link_items(struct store *st, const struct store_mailbox *mb,
		      struct store_imap_append *items, struct item_work *w, size_t n,
		      const char **error_r)
{
	time_t now = time(NULL);
	int rc;

	for (size_t i = 0; i < n; i++) {
		store_blob_name(now, w[i].blob);
		if (store_blob_dir(st, mb->storage_dir, w[i].blob, w[i].dir, sizeof(w[i].dir)) < 0) {
			*error_r = "bad storage_dir";
			return STORE_IO_ERROR;
		}
		rc = store_blob_link(st, store_msg_tmp_path(items[i].msg), mb->storage_dir, w[i].blob,
				     error_r);
		if (rc != STORE_OK)
			return rc;
		w[i].linked = true;
	}
	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < i && strcmp(w[j].dir, w[i].dir) != 0; j++)
			;
		if (j == i && (rc = store_dir_sync(st, w[i].dir, error_r)) != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

static int append_row(struct db_conn *conn, int64_t folder, struct store_imap_append *it,
		      const char *blob, const char **error_r)
{
	char b_folder[STORE_I64_BUFSZ], b_size[STORE_I64_BUFSZ], b_flags[STORE_I64_BUFSZ];
	char date[40], *keywords = store_text_array(it->keywords, it->nkeywords);
	time_t when = it->internal_date != 0 ? it->internal_date : time(NULL);
	const char *params[10], *status;
	enum db_status ds;
	PGresult *res;
	struct tm tm;
	int rc;

	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S+00", &tm);
	params[0] = store_i64(b_folder, folder);
	params[1] = blob;
	params[2] = store_i64(b_size, store_msg_size(it->msg));
	params[3] = store_i64(b_flags, (int64_t)(it->flags & STORE_FLAGS_ALL));
	params[4] = keywords;
	params[5] = date;
	params[6] = store_msg_envelope(it->msg);
	params[7] = store_msg_bodystructure(it->msg);
	params[8] = store_msg_preview(it->msg);
	params[9] = store_msg_header_fields(it->msg);
	ds = db_exec(conn, &stmt_append, 10, params, &res, error_r);
	free(keywords);
	if (ds != DB_OK)
		return store_db_status(ds);
	status = PQgetvalue(res, 0, 0);
	if (strcmp(status, "ok") == 0) {
		it->uid = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		it->modseq = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		rc = STORE_OK;
	} else if (strcmp(status, "over_quota") == 0) {
		*error_r = "mailbox is full";
		rc = STORE_OVER_QUOTA;
	} else if (strcmp(status, "over_domain_quota") == 0) {
		*error_r = "domain is full";
		rc = STORE_OVER_DOMAIN_QUOTA;
	} else {
		*error_r = "no such folder";
		rc = STORE_NOT_FOUND;
	}
	PQclear(res);
	return rc;
}

int store_imap_append(struct store *st, const struct store_mailbox *mb, int64_t folder,
		      struct store_imap_append *items, size_t n, const char **error_r)
{
	struct item_work *w;
	struct db_conn *conn = NULL;
	bool in_txn = false, unknown = false;
	enum db_status ds;
	int rc;

	if (n == 0)
		return STORE_OK;
	w = xcalloc(n, sizeof(*w));
	rc = link_items(st, mb, items, w, n, error_r);
	if (rc != STORE_OK)
		goto out;
	if ((conn = db_acquire(st->pool, error_r)) == NULL) {
		rc = STORE_TEMPFAIL;
		goto out;
	}
	/* one statement commits by itself; several share one transaction (RFC 3502: all or none) */
	if (n > 1) {
		if ((ds = db_begin(conn, error_r)) != DB_OK) {
			rc = store_db_status(ds);
			goto out;
		}
		in_txn = true;
	}
	for (size_t i = 0; i < n; i++) {
		rc = append_row(conn, folder, &items[i], w[i].blob, error_r);
		if (rc != STORE_OK) {
			/* a lone statement lost with its connection may have committed */
			unknown = !in_txn && rc == STORE_TEMPFAIL;
			goto out;
		}
	}
	if (in_txn && (ds = db_commit(conn, error_r)) != DB_OK) {
		unknown = ds == DB_TEMPFAIL;
		rc = store_db_status(ds);
	}
out:
	if (conn != NULL) {
		db_rollback(conn);
		db_release(&conn);
	}
	if (rc != STORE_OK && !unknown)
		unlink_all(st, mb, w, n);
	if (rc != STORE_OK) {
		for (size_t i = 0; i < n; i++)
			items[i].uid = items[i].modseq = 0;
	}
	free(w);
	return rc;
}
