/*
 * store_check.c: finding and repairing what a crash or a hand can leave
 * inconsistent in the mail store (see store.h): files no index row names
 * (a delivery killed between its link and its commit, or an expunge killed
 * between its commit and its unlink), rows whose file is gone, leftovers in
 * mail_root/tmp, UIDNEXT values not above every UID, and usage counters
 * that drifted.
 *
 * A file is only removed when no row names it and it is older than the
 * grace period: a delivery running right now may be about to commit it.
 * Rows without a file are expunged through sluice_store_expunge, so IMAP
 * clients learn of it like of any expunge. Walks only mail_root/<dir>/msg/.
 */
#include "log.h"
#include "store_private.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct row {
	char *blob;
	int64_t folder_id, uid;
	bool seen;
};

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->blob, ((const struct row *)b)->blob);
}

static const struct db_stmt stmt_rows = {
    "store_check_rows",
    "SELECT m.blob, m.folder_id, m.uid FROM messages m JOIN folders f ON f.id = m.folder_id"
    " WHERE f.mailbox_id = $1"};
static const struct db_stmt stmt_expunge_one = {
    "store_check_expunge", "SELECT count(*) FROM sluice_store_expunge($1, ARRAY[$2::bigint])"};
static const struct db_stmt stmt_fix_uidnext = {"store_check_uidnext",
                                                "SELECT sluice_store_fix_uidnext($1)"};
static const struct db_stmt stmt_recalc = {
    "store_quota_recalc",
    "SELECT old_bytes, old_messages, new_bytes, new_messages FROM sluice_store_quota_recalc($1)"};

static bool old_enough(const struct stat *sb, const struct store_check_options *opt)
{
	return time(NULL) - sb->st_mtime >= opt->grace_seconds;
}

/* One month directory: compare its files with the rows. */
static int check_dir(struct store *st, const char *dirpath, const char *month, struct row *rows,
                     size_t nrows, const struct store_check_options *opt,
                     struct store_check_report *rep, const char **error_r)
{
	DIR *dir = opendir(dirpath);
	struct dirent *de;
	char rel[STORE_BLOB_MAX + 64], path[PATH_MAX];

	if (dir == NULL) {
		*error_r = errorf("opendir %s: %s", dirpath, strerror(errno));
		return STORE_IO_ERROR;
	}
	while ((de = readdir(dir)) != NULL) {
		struct row key, *found;
		struct stat sb;

		if (de->d_name[0] == '.')
			continue;
		if (snprintf(rel, sizeof(rel), "msg/%s/%s", month, de->d_name) >=
		        (int)sizeof(rel) ||
		    snprintf(path, sizeof(path), "%s/%s", dirpath, de->d_name) >= (int)sizeof(path))
			continue;
		if (lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
			continue;
		rep->files++;
		key.blob = rel;
		found = bsearch(&key, rows, nrows, sizeof(*rows), row_cmp);
		if (found != NULL) {
			found->seen = true;
			continue;
		}
		if (!old_enough(&sb, opt)) {
			rep->young_files++;
			continue;
		}
		rep->orphan_files++;
		if (opt->repair) {
			if (unlink(path) < 0 && errno != ENOENT)
				log_warn("store check: unlink %s: %s", path, strerror(errno));
			else
				log_info("store check: removed %s (no index row)", path);
		}
	}
	closedir(dir);
	(void)st;
	return STORE_OK;
}

int store_check_mailbox(struct store *st, const struct store_mailbox *mb,
                        const struct store_check_options *opt, struct store_check_report *rep,
                        const char **error_r)
{
	char buf[STORE_I64_BUFSZ], msgdir[PATH_MAX], sub[PATH_MAX];
	const char *params[1] = {store_i64(buf, mb->id)};
	struct row *rows = NULL;
	size_t nrows = 0, i;
	PGresult *res;
	DIR *dir;
	struct dirent *de;
	int rc;

	if ((rc = store_exec(st, &stmt_rows, 1, params, &res, error_r)) != STORE_OK)
		return rc;
	nrows = (size_t)PQntuples(res);
	rows = xcalloc(nrows > 0 ? nrows : 1, sizeof(*rows));
	for (i = 0; i < nrows; i++) {
		rows[i].blob = xstrdup(PQgetvalue(res, (int)i, 0));
		rows[i].folder_id = strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
		rows[i].uid = strtoll(PQgetvalue(res, (int)i, 2), NULL, 10);
	}
	PQclear(res);
	qsort(rows, nrows, sizeof(*rows), row_cmp);
	rep->rows += nrows;

	if (snprintf(msgdir, sizeof(msgdir), "%s/%s/msg", st->mail_root, mb->storage_dir) >=
	    (int)sizeof(msgdir)) {
		*error_r = "path too long";
		rc = STORE_IO_ERROR;
		goto out;
	}
	dir = opendir(msgdir);
	if (dir == NULL && errno != ENOENT) {
		*error_r = errorf("opendir %s: %s", msgdir, strerror(errno));
		rc = STORE_IO_ERROR;
		goto out;
	}
	while (dir != NULL && (de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' || strlen(de->d_name) > 16)
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", msgdir, de->d_name) >= (int)sizeof(sub))
			continue;
		rc = check_dir(st, sub, de->d_name, rows, nrows, opt, rep, error_r);
		if (rc != STORE_OK)
			break;
	}
	if (dir != NULL)
		closedir(dir);
	if (rc != STORE_OK)
		goto out;

	for (i = 0; i < nrows; i++) {
		char path[PATH_MAX], b1[STORE_I64_BUFSZ], b2[STORE_I64_BUFSZ];
		const char *p2[2] = {store_i64(b1, rows[i].folder_id), store_i64(b2, rows[i].uid)};
		struct stat sb;

		if (rows[i].seen)
			continue;
		/* not listed: look again, a file may have come in since the rows were read */
		if (store_blob_path(st, mb->storage_dir, rows[i].blob, path, sizeof(path)) == 0 &&
		    stat(path, &sb) == 0)
			continue;
		rep->missing_files++;
		if (!opt->repair)
			continue;
		log_warn("store check: %s/%s: file missing, expunging folder %lld uid %lld",
		         mb->storage_dir, rows[i].blob, (long long)rows[i].folder_id,
		         (long long)rows[i].uid);
		if ((rc = store_exec(st, &stmt_expunge_one, 2, p2, NULL, error_r)) != STORE_OK)
			goto out;
	}
	if (opt->repair) {
		if ((rc = store_exec(st, &stmt_fix_uidnext, 1, params, &res, error_r)) != STORE_OK)
			goto out;
		rep->uidnext_fixed += strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		rc = store_quota_recalc(st, mb->id, rep, error_r);
	}
out:
	for (i = 0; i < nrows; i++)
		free(rows[i].blob);
	free(rows);
	return rc;
}

int store_check_tmp(struct store *st, const struct store_check_options *opt,
                    struct store_check_report *rep, const char **error_r)
{
	char dirpath[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	snprintf(dirpath, sizeof(dirpath), "%s/" STORE_TMP_DIR, st->mail_root);
	if ((dir = opendir(dirpath)) == NULL) {
		if (errno == ENOENT)
			return STORE_OK;
		*error_r = errorf("opendir %s: %s", dirpath, strerror(errno));
		return STORE_IO_ERROR;
	}
	while ((de = readdir(dir)) != NULL) {
		struct stat sb;

		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dirpath, de->d_name) >= (int)sizeof(path))
			continue;
		if (lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode) || !old_enough(&sb, opt))
			continue;
		rep->tmp_files++;
		if (opt->repair && unlink(path) < 0 && errno != ENOENT)
			log_warn("store check: unlink %s: %s", path, strerror(errno));
	}
	closedir(dir);
	return STORE_OK;
}

int store_quota_recalc(struct store *st, int64_t mailbox_id, struct store_check_report *rep,
                       const char **error_r)
{
	char buf[STORE_I64_BUFSZ];
	const char *params[1] = {store_i64(buf, mailbox_id)};
	PGresult *res;
	int rc;

	if ((rc = store_exec(st, &stmt_recalc, 1, params, &res, error_r)) != STORE_OK)
		return rc;
	rep->old_bytes += strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	rep->old_messages += strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	rep->new_bytes += strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	rep->new_messages += strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	PQclear(res);
	return STORE_OK;
}
