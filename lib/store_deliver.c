/*
 * store_deliver.c: putting a finished message into one or more folders
 * (store_deliver(), see store.h): LMTP delivery to each recipient, a quota
 * warning, an IMAP APPEND.
 *
 * Order, so that nothing is counted that is not on disk and nothing on disk
 * stays unindexed unless a crash cut in: the message's file was fsynced by
 * store_msg_finish(); each target gets a hard link (to its own copy when
 * target->msg is set: a header Sieve edited); each directory holding
 * new links is fsynced once; then one transaction indexes every target
 * (sluice_store_append, which re-checks quota under the mailbox's lock);
 * finally the links of targets that failed are removed. When the outcome of
 * a commit is unknown (the database went away), the links stay: removing
 * them could lose a committed message, keeping them risks only an orphan
 * that `store check` removes.
 */
#include "log.h"
#include "quota.h"
#include "store_private.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct target_work {
	char blob[STORE_BLOB_MAX];
	char dir[PATH_MAX];
	int64_t folder_id;
	bool linked;
};

/* The message a target gets: its own copy, or the one of the whole delivery. */
static struct store_msg *target_msg(const struct store_target *t, struct store_msg *msg)
{
	return t->msg != NULL ? t->msg : msg;
}

static void fail(struct store_target *t, int status, const char *error)
{
	t->status = status;
	snprintf(t->error, sizeof(t->error), "%s", error != NULL ? error : "");
}

static const struct db_stmt stmt_append = {
    "store_append", "SELECT status, uid, modseq, used_bytes, used_messages, warned_percent"
                    " FROM sluice_store_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"};
static const struct db_stmt stmt_find = {
    "store_deliver_folder", "SELECT id FROM folders WHERE mailbox_id = $1 AND name = $2"};
static const struct db_stmt stmt_create = {"store_deliver_folder_create",
                                           "SELECT sluice_store_folder_create($1, $2, NULL)"};

/* The folder of a target by name, made if asked; the INBOX when missing. */
static int resolve_folder(struct db_conn *conn, struct store_target *t, int64_t *id_r,
                          const char **error_r)
{
	char buf[STORE_I64_BUFSZ];
	const char *params[2] = {store_i64(buf, t->mailbox->id), t->folder};
	PGresult *res;
	enum db_status ds;

	if (t->folder_id > 0) {
		*id_r = t->folder_id;
		return STORE_OK;
	}
	if (t->folder == NULL || strcasecmp(t->folder, "INBOX") == 0) {
		*id_r = t->mailbox->inbox_id;
		return STORE_OK;
	}
	if (!store_folder_name_valid(t->folder)) {
		t->fell_back = true;
		*id_r = t->mailbox->inbox_id;
		return STORE_OK;
	}
	ds = db_exec(conn, t->create_folder ? &stmt_create : &stmt_find, 2, params, &res, error_r);
	if (ds != DB_OK)
		return store_db_status(ds);
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
		*id_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	} else {
		/* RFC 5228 4.1: fileinto a folder that is not there keeps the message */
		t->fell_back = true;
		*id_r = t->mailbox->inbox_id;
	}
	PQclear(res);
	return STORE_OK;
}

static int append_one(struct db_conn *conn, struct store_msg *msg, const char *date,
                      struct store_target *t, struct target_work *w, const char **error_r)
{
	char b_folder[STORE_I64_BUFSZ], b_size[STORE_I64_BUFSZ], b_flags[STORE_I64_BUFSZ];
	const char *prefix = t->header_prefix != NULL ? t->header_prefix : "";
	int64_t size = store_msg_size(msg) + (int64_t)strlen(prefix);
	char *keywords = store_text_array(t->keywords, t->nkeywords);
	const char *params[12] = {
	    store_i64(b_folder, w->folder_id),
	    w->blob,
	    store_i64(b_size, size),
	    prefix,
	    store_i64(b_flags, (int64_t)(t->flags & STORE_FLAGS_ALL)),
	    keywords,
	    date,
	    store_msg_envelope(msg),
	    store_msg_bodystructure(msg),
	    store_msg_preview(msg),
	    t->check_quota ? "true" : "false",
	    store_msg_header_fields(msg),
	};
	PGresult *res;
	enum db_status ds;
	const char *status;

	ds = db_exec(conn, &stmt_append, 12, params, &res, error_r);
	free(keywords);
	if (ds != DB_OK)
		return store_db_status(ds);
	status = PQgetvalue(res, 0, 0);
	if (strcmp(status, "ok") == 0) {
		t->status = STORE_OK;
		t->stored_folder_id = w->folder_id;
		t->uid = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		t->modseq = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		t->used_bytes = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
		t->used_messages = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
		t->warned_percent = atoi(PQgetvalue(res, 0, 5));
	} else if (strcmp(status, "over_quota") == 0) {
		fail(t, STORE_OVER_QUOTA, "mailbox is full");
	} else if (strcmp(status, "over_domain_quota") == 0) {
		fail(t, STORE_OVER_DOMAIN_QUOTA, "domain is full");
	} else {
		fail(t, STORE_NOT_FOUND, "folder vanished");
	}
	PQclear(res);
	return STORE_OK;
}

/* Link every target still OK and fsync each directory once. */
static void link_targets(struct store *st, struct store_msg *msg, time_t now,
                         struct store_target *targets, struct target_work *work, size_t n)
{
	const char *error = NULL;
	size_t i, j;
	int rc;

	for (i = 0; i < n; i++) {
		if (targets[i].status != STORE_OK)
			continue;
		store_blob_name(now, work[i].blob);
		if (store_blob_dir(st, targets[i].mailbox->storage_dir, work[i].blob, work[i].dir,
		                   sizeof(work[i].dir)) < 0) {
			fail(&targets[i], STORE_IO_ERROR, "bad storage_dir");
			continue;
		}
		rc = store_blob_link(st, store_msg_tmp_path(target_msg(&targets[i], msg)),
		                     targets[i].mailbox->storage_dir, work[i].blob, &error);
		if (rc != STORE_OK)
			fail(&targets[i], rc, error);
		else
			work[i].linked = true;
	}
	for (i = 0; i < n; i++) {
		if (!work[i].linked || targets[i].status != STORE_OK)
			continue;
		for (j = 0; j < i; j++) {
			if (work[j].linked && strcmp(work[j].dir, work[i].dir) == 0)
				break;
		}
		if (j < i)
			continue; /* fsynced already, with its failure copied below */
		rc = store_dir_sync(st, work[i].dir, &error);
		if (rc == STORE_OK)
			continue;
		for (j = i; j < n; j++) {
			if (work[j].linked && strcmp(work[j].dir, work[i].dir) == 0)
				fail(&targets[j], rc, error);
		}
	}
}

/* qsort_r order of target indexes: by mailbox id, then as given. */
static int by_mailbox(const void *a, const void *b, void *arg)
{
	const struct store_target *targets = arg;
	int64_t x = targets[*(const size_t *)a].mailbox->id;
	int64_t y = targets[*(const size_t *)b].mailbox->id;

	return x < y ? -1 : x > y ? 1 : *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

void store_deliver(struct store *st, struct store_msg *msg, time_t internal_date,
                   struct store_target *targets, size_t n)
{
	size_t *order = NULL;
	struct target_work *work = xcalloc(n > 0 ? n : 1, sizeof(*work));
	time_t now = time(NULL);
	const char *error = NULL;
	struct db_conn *conn = NULL;
	char date[40];
	struct tm tm;
	size_t i, pending = 0;
	enum db_status ds = DB_OK;
	bool in_txn = false, outcome_unknown = false;
	int rc;

	if (internal_date == 0)
		internal_date = now;
	gmtime_r(&internal_date, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S+00", &tm);

	for (i = 0; i < n; i++) {
		struct store_target *t = &targets[i];
		const char *prefix = t->header_prefix != NULL ? t->header_prefix : "";
		int64_t size = store_msg_size(target_msg(t, msg)) + (int64_t)strlen(prefix);
		struct quota_state q = {
		    .limit_bytes = t->mailbox->quota_bytes,
		    .limit_messages = t->mailbox->quota_messages,
		    .domain_limit_bytes = t->mailbox->domain_quota_bytes,
		    .used_bytes = t->mailbox->used_bytes,
		    .used_messages = t->mailbox->used_messages,
		    .domain_used_bytes = t->mailbox->domain_used_bytes,
		};
		enum quota_verdict v;

		t->status = STORE_OK;
		t->error[0] = '\0';
		t->fell_back = false;
		t->uid = t->modseq = t->stored_folder_id = 0;
		if (t->mailbox->inbox_id <= 0) {
			fail(t, STORE_NOT_FOUND, "mailbox not initialized");
			continue;
		}
		/* an early answer from the usage looked up before; the database has the last word
		 */
		v = t->check_quota ? quota_check(&q, size, 1) : QUOTA_FITS;
		if (v == QUOTA_OVER_MAILBOX)
			fail(t, STORE_OVER_QUOTA, "mailbox is full");
		else if (v == QUOTA_OVER_DOMAIN)
			fail(t, STORE_OVER_DOMAIN_QUOTA, "domain is full");
	}
	link_targets(st, msg, now, targets, work, n);

	for (i = 0; i < n; i++)
		pending += targets[i].status == STORE_OK;
	if (pending == 0)
		goto cleanup;
	if ((conn = db_acquire(st->pool, &error)) == NULL) {
		ds = DB_TEMPFAIL;
		goto db_failed;
	}
	for (i = 0; i < n; i++) {
		if (targets[i].status != STORE_OK)
			continue;
		rc = resolve_folder(conn, &targets[i], &work[i].folder_id, &error);
		if (rc == STORE_TEMPFAIL) {
			ds = DB_TEMPFAIL;
			goto db_failed;
		}
		if (rc != STORE_OK)
			fail(&targets[i], rc, error);
	}
	/* one statement commits by itself; several share one transaction */
	if (pending > 1) {
		if ((ds = db_begin(conn, &error)) != DB_OK)
			goto db_failed;
		in_txn = true;
	}
	/* mailboxes in id order: two transactions never wait for each other in a circle */
	order = xcalloc(n, sizeof(*order));
	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), by_mailbox, targets);
	for (size_t o = 0; o < n; o++) {
		i = order[o];
		if (targets[i].status != STORE_OK)
			continue;
		rc = append_one(conn, target_msg(&targets[i], msg), date, &targets[i], &work[i],
		                &error);
		if (rc != STORE_OK) {
			ds = rc == STORE_TEMPFAIL ? DB_TEMPFAIL : DB_ERROR;
			/* a lone statement lost with its connection may have committed */
			outcome_unknown = !in_txn && rc == STORE_TEMPFAIL;
			goto db_failed;
		}
	}
	if (in_txn && (ds = db_commit(conn, &error)) != DB_OK) {
		/* COMMIT without an answer may have committed */
		outcome_unknown = ds == DB_TEMPFAIL;
		goto db_failed;
	}
	goto cleanup;

db_failed:
	if (conn != NULL)
		db_rollback(conn);
	for (i = 0; i < n; i++) {
		if (targets[i].status == STORE_OK) {
			fail(&targets[i], store_db_status(ds), error);
			targets[i].uid = 0;
			if (outcome_unknown)
				work[i].linked = false; /* maybe indexed: keep its file */
		}
	}
	log_warn("store: delivery failed: %s", error != NULL ? error : "database error");

cleanup:
	free(order);
	db_release(&conn);
	for (i = 0; i < n; i++) {
		if (work[i].linked && targets[i].status != STORE_OK)
			store_blob_unlink(st, targets[i].mailbox->storage_dir, work[i].blob);
	}
	free(work);
}
