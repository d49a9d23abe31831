/*
 * store_ops.c: the IMAP-side changes to stored messages (see store.h):
 * COPY (a new hard link per copy, then the rows), MOVE (rows only),
 * EXPUNGE (rows, then files) and STORE (flags and keywords).
 *
 * The locking rules live in the schema's sluice_store_copy / _move /
 * _expunge / _set_flags; this file adds the filesystem steps around them in
 * the safe order: links made and their directory fsynced before the rows
 * that name them commit, files removed only after the rows are gone.
 */
#include "log.h"
#include "store_private.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_stmt stmt_copy_src = {
    "store_copy_src", "SELECT m.uid, m.blob FROM messages m JOIN folders f ON f.id = m.folder_id"
                      " WHERE m.folder_id = $1 AND f.mailbox_id = $2 AND m.uid = ANY ($3::bigint[])"
                      " ORDER BY m.uid"};
static const struct db_stmt stmt_copy = {
    "store_copy", "SELECT status, src_uid, dst_uid FROM sluice_store_copy($1, $2, $3, $4, $5)"};

static int status_word(const char *s)
{
	if (strcmp(s, "ok") == 0)
		return STORE_OK;
	if (strcmp(s, "over_quota") == 0)
		return STORE_OVER_QUOTA;
	if (strcmp(s, "over_domain_quota") == 0)
		return STORE_OVER_DOMAIN_QUOTA;
	return STORE_NOT_FOUND;
}

int store_copy(struct store *st, const struct store_mailbox *mb, int64_t src_folder,
               const int64_t *uids, size_t nuids, int64_t dst_folder, bool check_quota,
               struct store_uid_pair **pairs_r, size_t *npairs_r, const char **error_r)
{
	char b1[STORE_I64_BUFSZ], b2[STORE_I64_BUFSZ], b3[STORE_I64_BUFSZ];
	char *uid_array = store_int_array(uids, nuids), *src_uids = NULL, *blob_array = NULL;
	const char *params[3] = {store_i64(b1, src_folder), store_i64(b2, mb->id), uid_array};
	char(*blobs)[STORE_BLOB_MAX] = NULL, dir[PATH_MAX], src[PATH_MAX];
	const char **blob_ptrs = NULL;
	int64_t *found = NULL;
	bool *linked = NULL, keep = false;
	PGresult *res = NULL;
	time_t now = time(NULL);
	size_t n = 0, i;
	int rc;

	*pairs_r = NULL;
	*npairs_r = 0;
	rc = store_exec(st, &stmt_copy_src, 3, params, &res, error_r);
	free(uid_array);
	if (rc != STORE_OK)
		return rc;
	n = (size_t)PQntuples(res);
	if (n == 0) {
		PQclear(res);
		return STORE_OK;
	}
	blobs = xcalloc(n, sizeof(*blobs));
	blob_ptrs = xcalloc(n, sizeof(*blob_ptrs));
	found = xcalloc(n, sizeof(*found));
	linked = xcalloc(n, sizeof(*linked));
	for (i = 0; i < n && rc == STORE_OK; i++) {
		found[i] = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
		store_blob_name(now, blobs[i]);
		blob_ptrs[i] = blobs[i];
		if (store_blob_path(st, mb->storage_dir, PQgetvalue(res, (int)i, 1), src,
		                    sizeof(src)) < 0) {
			*error_r = "bad blob name";
			rc = STORE_IO_ERROR;
			break;
		}
		rc = store_blob_link(st, src, mb->storage_dir, blobs[i], error_r);
		linked[i] = rc == STORE_OK;
	}
	PQclear(res);
	res = NULL;
	/* every new name is in this month's directory: one fsync */
	if (rc == STORE_OK && store_blob_dir(st, mb->storage_dir, blobs[0], dir, sizeof(dir)) == 0)
		rc = store_dir_sync(st, dir, error_r);
	if (rc == STORE_OK) {
		const char *p[5];

		src_uids = store_int_array(found, n);
		blob_array = store_text_array(blob_ptrs, n);
		p[0] = b1;
		p[1] = src_uids;
		p[2] = blob_array;
		p[3] = store_i64(b3, dst_folder);
		p[4] = check_quota ? "true" : "false";
		rc = store_exec(st, &stmt_copy, 5, p, &res, error_r);
		/* a lost answer may hide a commit: keep the links (store check cleans up) */
		keep = rc == STORE_TEMPFAIL;
	}
	if (rc == STORE_OK && PQntuples(res) > 0 &&
	    (rc = status_word(PQgetvalue(res, 0, 0))) != STORE_OK)
		*error_r = store_status_name(rc);
	if (rc == STORE_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 1)) {
		*npairs_r = (size_t)PQntuples(res);
		*pairs_r = xcalloc(*npairs_r, sizeof(**pairs_r));
		for (i = 0; i < *npairs_r; i++) {
			(*pairs_r)[i].src_uid = strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
			(*pairs_r)[i].dst_uid = strtoll(PQgetvalue(res, (int)i, 2), NULL, 10);
		}
	}
	/* links that no row names: a failure, or a message expunged meanwhile */
	for (i = 0; i < n; i++) {
		bool used = false;

		for (size_t k = 0; k < *npairs_r && !used; k++)
			used = (*pairs_r)[k].src_uid == found[i];
		if (linked[i] && !used && !keep)
			store_blob_unlink(st, mb->storage_dir, blobs[i]);
	}
	PQclear(res);
	free(src_uids);
	free(blob_array);
	free(blobs);
	free(blob_ptrs);
	free(found);
	free(linked);
	return rc;
}

static const struct db_stmt stmt_move = {"store_move",
                                         "SELECT x.src_uid, x.dst_uid FROM folders f"
                                         " CROSS JOIN LATERAL sluice_store_move(f.id, $2, $3) x"
                                         " WHERE f.id = $1 AND f.mailbox_id = $4"};

int store_move(struct store *st, const struct store_mailbox *mb, int64_t src_folder,
               const int64_t *uids, size_t nuids, int64_t dst_folder,
               struct store_uid_pair **pairs_r, size_t *npairs_r, const char **error_r)
{
	char b1[STORE_I64_BUFSZ], b2[STORE_I64_BUFSZ], b3[STORE_I64_BUFSZ];
	char *uid_array = store_int_array(uids, nuids);
	const char *params[4] = {store_i64(b1, src_folder), uid_array, store_i64(b2, dst_folder),
	                         store_i64(b3, mb->id)};
	PGresult *res;
	int rc;

	*pairs_r = NULL;
	*npairs_r = 0;
	rc = store_exec(st, &stmt_move, 4, params, &res, error_r);
	free(uid_array);
	if (rc != STORE_OK)
		return rc;
	*npairs_r = (size_t)PQntuples(res);
	if (*npairs_r > 0)
		*pairs_r = xcalloc(*npairs_r, sizeof(**pairs_r));
	for (size_t i = 0; i < *npairs_r; i++) {
		(*pairs_r)[i].src_uid = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
		(*pairs_r)[i].dst_uid = strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
	}
	PQclear(res);
	return STORE_OK;
}

static const struct db_stmt stmt_expunge = {"store_expunge",
                                            "SELECT x.uid, x.blob FROM folders f"
                                            " CROSS JOIN LATERAL sluice_store_expunge(f.id, $2) x"
                                            " WHERE f.id = $1 AND f.mailbox_id = $3"};

int store_expunge(struct store *st, const struct store_mailbox *mb, int64_t folder,
                  const int64_t *uids, size_t nuids, int64_t **expunged_r, size_t *nexpunged_r,
                  const char **error_r)
{
	char b1[STORE_I64_BUFSZ], b2[STORE_I64_BUFSZ];
	char *uid_array = store_int_array(uids, nuids);
	const char *params[3] = {store_i64(b1, folder), uid_array, store_i64(b2, mb->id)};
	PGresult *res;
	size_t n;
	int rc;

	if (expunged_r != NULL)
		*expunged_r = NULL;
	if (nexpunged_r != NULL)
		*nexpunged_r = 0;
	rc = store_exec(st, &stmt_expunge, 3, params, &res, error_r);
	free(uid_array);
	if (rc != STORE_OK)
		return rc;
	n = (size_t)PQntuples(res);
	/* committed: the files can go */
	store_unlink_blobs(st, mb, res, 1);
	if (expunged_r != NULL && n > 0) {
		*expunged_r = xcalloc(n, sizeof(**expunged_r));
		for (size_t i = 0; i < n; i++)
			(*expunged_r)[i] = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
	}
	if (nexpunged_r != NULL)
		*nexpunged_r = n;
	PQclear(res);
	return STORE_OK;
}

static const struct db_stmt stmt_flags = {
    "store_set_flags", "SELECT x.uid, x.modseq, x.flags, x.keywords FROM folders f"
                       " CROSS JOIN LATERAL sluice_store_set_flags(f.id, $2, $3, $4, $5, $6) x"
                       " WHERE f.id = $1 AND f.mailbox_id = $7"};

int store_set_flags(struct store *st, const struct store_mailbox *mb, int64_t folder,
                    const int64_t *uids, size_t nuids, enum store_flag_mode mode,
                    unsigned int flags, const char *const *keywords, size_t nkeywords,
                    int64_t unchangedsince, struct store_flag_change **changes_r,
                    size_t *nchanges_r, const char **error_r)
{
	static const char *const modes[] = {"add", "remove", "replace"};
	char b1[STORE_I64_BUFSZ], b2[STORE_I64_BUFSZ], b3[STORE_I64_BUFSZ], b4[STORE_I64_BUFSZ];
	char *uid_array = store_int_array(uids, nuids);
	char *kw_array = store_text_array(keywords, nkeywords);
	const char *params[7] = {store_i64(b1, folder),
	                         uid_array,
	                         modes[mode],
	                         store_i64(b2, (int64_t)(flags & STORE_FLAGS_ALL)),
	                         kw_array,
	                         unchangedsince >= 0 ? store_i64(b3, unchangedsince) : NULL,
	                         store_i64(b4, mb->id)};
	PGresult *res;
	size_t n;
	int rc;

	*changes_r = NULL;
	*nchanges_r = 0;
	rc = store_exec(st, &stmt_flags, 7, params, &res, error_r);
	free(uid_array);
	free(kw_array);
	if (rc != STORE_OK)
		return rc;
	n = (size_t)PQntuples(res);
	if (n > 0)
		*changes_r = xcalloc(n, sizeof(**changes_r));
	for (size_t i = 0; i < n; i++) {
		struct store_flag_change *c = &(*changes_r)[i];

		c->uid = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
		c->modseq = strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
		c->flags = (unsigned int)strtoul(PQgetvalue(res, (int)i, 2), NULL, 10);
		store_parse_text_array(PQgetvalue(res, (int)i, 3), &c->keywords, &c->nkeywords);
	}
	*nchanges_r = n;
	PQclear(res);
	return STORE_OK;
}

void store_flag_changes_free(struct store_flag_change **changes, size_t n)
{
	if (*changes == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < (*changes)[i].nkeywords; k++)
			free((*changes)[i].keywords[k]);
		free((*changes)[i].keywords);
	}
	free(*changes);
	*changes = NULL;
}
