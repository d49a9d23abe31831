/*
 * store.c: the mail store's entry points that are not about writing
 * messages: creating the store, finding mailboxes and making their
 * standard folders, folder management, reading a message back, and quota
 * warning claims (see store.h).
 *
 * Every statement goes through lib/db.h with parameters; the rules that
 * need locks live in the schema's sluice_store_* functions (0002), which
 * only this library calls. Folder names are checked here before use.
 */
#include "log.h"
#include "mime.h"
#include "store_private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

const char *store_status_name(enum store_status status)
{
	switch (status) {
	case STORE_OK:
		return "ok";
	case STORE_TEMPFAIL:
		return "database unavailable";
	case STORE_DISK_FULL:
		return "disk full";
	case STORE_IO_ERROR:
		return "I/O error";
	case STORE_OVER_QUOTA:
		return "over quota";
	case STORE_OVER_DOMAIN_QUOTA:
		return "over domain quota";
	case STORE_NOT_FOUND:
		return "not found";
	case STORE_EXISTS:
		return "already exists";
	case STORE_INVALID:
		return "invalid";
	case STORE_DB_ERROR:
		return "database error";
	}
	return "unknown";
}

int store_create(const struct store_settings *set, struct db_pool *pool, struct store **st_r,
                 const char **error_r)
{
	struct store *st;
	size_t len;

	if (set->mail_root == NULL || set->mail_root[0] != '/') {
		*error_r = "mail_root must be an absolute path";
		return STORE_INVALID;
	}
	st = xcalloc(1, sizeof(*st));
	st->mail_root = xstrdup(set->mail_root);
	len = strlen(st->mail_root);
	while (len > 1 && st->mail_root[len - 1] == '/')
		st->mail_root[--len] = '\0';
	st->pool = pool;
	pthread_mutex_init(&st->sync_lock, NULL);
	pthread_cond_init(&st->sync_cond, NULL);
	if (mkdir(st->mail_root, 0700) < 0 && errno != EEXIST) {
		*error_r = errorf("mkdir %s: %s", st->mail_root, strerror(errno));
		store_destroy(&st);
		return STORE_IO_ERROR;
	}
	*st_r = st;
	return STORE_OK;
}

void store_destroy(struct store **stp)
{
	struct store *st = *stp;

	if (st == NULL)
		return;
	*stp = NULL;
	pthread_mutex_destroy(&st->sync_lock);
	pthread_cond_destroy(&st->sync_cond);
	free(st->mail_root);
	free(st);
}

const char *store_mail_root(const struct store *st)
{
	return st->mail_root;
}

struct db_pool *store_pool(const struct store *st)
{
	return st->pool;
}

const char *store_i64(char *buf, int64_t v)
{
	snprintf(buf, STORE_I64_BUFSZ, "%lld", (long long)v);
	return buf;
}

int store_exec(struct store *st, const struct db_stmt *stmt, int nparams, const char *const *params,
               PGresult **res_r, const char **error_r)
{
	struct db_conn *conn = db_acquire(st->pool, error_r);
	PGresult *res = NULL;
	enum db_status rc;

	if (res_r != NULL)
		*res_r = NULL;
	if (conn == NULL)
		return STORE_TEMPFAIL;
	rc = db_exec(conn, stmt, nparams, params, &res, error_r);
	db_release(&conn);
	if (rc != DB_OK)
		return store_db_status(rc);
	if (res_r != NULL)
		*res_r = res;
	else
		PQclear(res);
	return STORE_OK;
}

void store_unlink_blobs(struct store *st, const struct store_mailbox *mb, PGresult *res, int column)
{
	for (int i = 0; i < PQntuples(res); i++) {
		if (!PQgetisnull(res, i, column))
			store_blob_unlink(st, mb->storage_dir, PQgetvalue(res, i, column));
	}
}

/* --- mailboxes --- */

#define MAILBOX_SELECT                                                                             \
	"SELECT m.id, m.domain_id, m.local_part, m.domain, m.storage_dir, m.active,"               \
	" m.quota_bytes, m.quota_messages, d.quota_bytes,"                                         \
	" coalesce(q.bytes, 0), coalesce(q.messages, 0), coalesce(q.warned_percent, 0),"           \
	" CASE WHEN d.quota_bytes > 0 THEN (SELECT coalesce(sum(q2.bytes), 0)"                     \
	"   FROM quota_usage q2 JOIN mailbox_directory m2 ON m2.id = q2.mailbox_id"                \
	"   WHERE m2.domain_id = m.domain_id) ELSE 0 END,"                                         \
	" (SELECT f.id FROM folders f WHERE f.mailbox_id = m.id AND f.name = 'INBOX')"             \
	" FROM mailbox_directory m JOIN domains d ON d.id = m.domain_id"                           \
	" LEFT JOIN quota_usage q ON q.mailbox_id = m.id"

static const struct db_stmt stmt_lookup = {
    "store_mailbox_lookup",
    MAILBOX_SELECT " WHERE lower(m.local_part) = lower($1) AND m.domain = coalesce("
                   "(SELECT t.name FROM alias_domains a JOIN domains t ON t.id = a.target_domain_id"
                   "  WHERE a.name = $2 AND a.active), $2)"};
static const struct db_stmt stmt_by_id = {"store_mailbox_by_id", MAILBOX_SELECT " WHERE m.id = $1"};
static const struct db_stmt stmt_init = {"store_mailbox_init",
                                         "SELECT sluice_store_mailbox_init($1)"};

static int64_t col_i64(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static int mailbox_from_row(const PGresult *res, struct store_mailbox *mb, const char **error_r)
{
	memset(mb, 0, sizeof(*mb));
	mb->id = col_i64(res, 0, 0);
	mb->domain_id = col_i64(res, 0, 1);
	if (snprintf(mb->local, sizeof(mb->local), "%s", PQgetvalue(res, 0, 2)) >=
	        (int)sizeof(mb->local) ||
	    snprintf(mb->domain, sizeof(mb->domain), "%s", PQgetvalue(res, 0, 3)) >=
	        (int)sizeof(mb->domain) ||
	    snprintf(mb->storage_dir, sizeof(mb->storage_dir), "%s", PQgetvalue(res, 0, 4)) >=
	        (int)sizeof(mb->storage_dir)) {
		*error_r = "mailbox row with an over-long name";
		return STORE_DB_ERROR;
	}
	mb->active = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
	mb->quota_bytes = col_i64(res, 0, 6);
	mb->quota_messages = col_i64(res, 0, 7);
	mb->domain_quota_bytes = col_i64(res, 0, 8);
	mb->used_bytes = col_i64(res, 0, 9);
	mb->used_messages = col_i64(res, 0, 10);
	mb->warned_percent = (int)col_i64(res, 0, 11);
	mb->domain_used_bytes = col_i64(res, 0, 12);
	mb->inbox_id = col_i64(res, 0, 13);
	return STORE_OK;
}

static int mailbox_query(struct store *st, const struct db_stmt *stmt, int n,
                         const char *const *params, struct store_mailbox *mb, const char **error_r)
{
	PGresult *res;
	int rc = store_exec(st, stmt, n, params, &res, error_r);

	if (rc != STORE_OK)
		return rc;
	if (PQntuples(res) == 0) {
		*error_r = "no such mailbox";
		rc = STORE_NOT_FOUND;
	} else {
		rc = mailbox_from_row(res, mb, error_r);
	}
	PQclear(res);
	return rc;
}

int store_mailbox_lookup(struct store *st, const char *local, const char *domain,
                         struct store_mailbox *mb, const char **error_r)
{
	const char *params[2] = {local, domain};

	return mailbox_query(st, &stmt_lookup, 2, params, mb, error_r);
}

int store_mailbox_by_id(struct store *st, int64_t id, struct store_mailbox *mb,
                        const char **error_r)
{
	char buf[STORE_I64_BUFSZ];
	const char *params[1] = {store_i64(buf, id)};

	return mailbox_query(st, &stmt_by_id, 1, params, mb, error_r);
}

int store_mailbox_init(struct store *st, struct store_mailbox *mb, const char **error_r)
{
	char buf[STORE_I64_BUFSZ];
	const char *params[1] = {store_i64(buf, mb->id)};
	PGresult *res;
	int rc;

	if (mb->inbox_id > 0)
		return STORE_OK;
	if ((rc = store_exec(st, &stmt_init, 1, params, &res, error_r)) != STORE_OK)
		return rc;
	mb->inbox_id = col_i64(res, 0, 0);
	PQclear(res);
	return mb->inbox_id > 0 ? STORE_OK : STORE_DB_ERROR;
}

/* --- folders --- */

bool store_folder_name_valid(const char *name)
{
	size_t len = strlen(name);
	struct sbuf clean = {0};
	bool ok;

	if (len == 0 || len > STORE_FOLDER_NAME_MAX || name[0] == '/' || name[len - 1] == '/' ||
	    strstr(name, "//") != NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		/* RFC 3501 5.1: no control characters; '*' and '%' are LIST wildcards */
		if (c < 0x20 || c == 0x7f || c == '*' || c == '%')
			return false;
	}
	mime_utf8_sanitize(name, len, &clean);
	ok = clean.len == len && memcmp(clean.data, name, len) == 0;
	sbuf_free(&clean);
	return ok;
}

/* "inbox" and "Inbox/x" in any case name the INBOX and its children. */
static void folder_canonical(const char *name, char *buf, size_t size)
{
	if (strncasecmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == '/'))
		snprintf(buf, size, "INBOX%s", name + 5);
	else
		snprintf(buf, size, "%s", name);
}

static const struct db_stmt stmt_folder_find = {
    "store_folder_find", "SELECT id FROM folders WHERE mailbox_id = $1 AND name = $2"};
static const struct db_stmt stmt_folder_create = {"store_folder_create",
                                                  "SELECT sluice_store_folder_create($1, $2, $3)"};

int store_folder_find(struct store *st, const struct store_mailbox *mb, const char *name,
                      int64_t *id_r, const char **error_r)
{
	char canon[STORE_FOLDER_NAME_MAX + 1], buf[STORE_I64_BUFSZ];
	const char *params[2] = {store_i64(buf, mb->id), canon};
	PGresult *res;
	int rc;

	*id_r = 0;
	if (!store_folder_name_valid(name)) {
		*error_r = "invalid folder name";
		return STORE_INVALID;
	}
	folder_canonical(name, canon, sizeof(canon));
	if ((rc = store_exec(st, &stmt_folder_find, 2, params, &res, error_r)) != STORE_OK)
		return rc;
	if (PQntuples(res) == 0) {
		*error_r = "no such folder";
		rc = STORE_NOT_FOUND;
	} else {
		*id_r = col_i64(res, 0, 0);
	}
	PQclear(res);
	return rc;
}

int store_folder_create(struct store *st, const struct store_mailbox *mb, const char *name,
                        const char *special_use, int64_t *id_r, const char **error_r)
{
	char canon[STORE_FOLDER_NAME_MAX + 1], buf[STORE_I64_BUFSZ];
	const char *params[3] = {store_i64(buf, mb->id), canon, special_use};
	PGresult *res;
	int rc;

	rc = store_folder_find(st, mb, name, id_r, error_r);
	if (rc == STORE_OK) {
		*error_r = "folder exists";
		return STORE_EXISTS;
	}
	if (rc != STORE_NOT_FOUND)
		return rc;
	folder_canonical(name, canon, sizeof(canon));
	if ((rc = store_exec(st, &stmt_folder_create, 3, params, &res, error_r)) != STORE_OK)
		return rc;
	*id_r = col_i64(res, 0, 0);
	PQclear(res);
	return STORE_OK;
}

static const struct db_stmt stmt_folder_lock = {
    "store_folder_lock", "SELECT name FROM folders WHERE id = $1 AND mailbox_id = $2 FOR UPDATE"};
static const struct db_stmt stmt_folder_expunge_all = {
    "store_folder_expunge_all", "SELECT x.blob FROM sluice_store_expunge($1,"
                                " ARRAY(SELECT m.uid FROM messages m WHERE m.folder_id = $1)) x"};
static const struct db_stmt stmt_folder_delete = {"store_folder_delete",
                                                  "DELETE FROM folders WHERE id = $1"};

int store_folder_delete(struct store *st, const struct store_mailbox *mb, int64_t folder,
                        const char **error_r)
{
	char b1[STORE_I64_BUFSZ], b2[STORE_I64_BUFSZ];
	const char *params[2] = {store_i64(b1, folder), store_i64(b2, mb->id)};
	struct db_conn *conn;
	PGresult *res = NULL, *blobs = NULL;
	enum db_status ds;
	int rc = STORE_OK;

	if ((conn = db_acquire(st->pool, error_r)) == NULL)
		return STORE_TEMPFAIL;
	if ((ds = db_begin(conn, error_r)) != DB_OK ||
	    (ds = db_exec(conn, &stmt_folder_lock, 2, params, &res, error_r)) != DB_OK)
		goto done;
	if (PQntuples(res) == 0 || strcmp(PQgetvalue(res, 0, 0), "INBOX") == 0) {
		*error_r = PQntuples(res) == 0 ? "no such folder" : "the INBOX cannot be deleted";
		rc = PQntuples(res) == 0 ? STORE_NOT_FOUND : STORE_INVALID;
		goto done;
	}
	PQclear(res);
	res = NULL;
	if ((ds = db_exec(conn, &stmt_folder_expunge_all, 1, params, &blobs, error_r)) != DB_OK ||
	    (ds = db_exec(conn, &stmt_folder_delete, 1, params, &res, error_r)) != DB_OK ||
	    (ds = db_commit(conn, error_r)) != DB_OK)
		goto done;
	/* the rows are gone for good: now the files */
	store_unlink_blobs(st, mb, blobs, 0);
done:
	if (ds != DB_OK)
		rc = store_db_status(ds);
	db_rollback(conn);
	db_release(&conn);
	PQclear(res);
	PQclear(blobs);
	return rc;
}

/*
 * $1 mailbox, $2 folder, $3 its current name, $4 the new one. The folders
 * below move along, and so do the subscriptions of the names (those whose
 * new name is subscribed already stay where they are).
 */
static const struct db_stmt stmt_folder_rename = {
    "store_folder_rename",
    "WITH moved AS ("
    "  UPDATE folders SET name = $4 || substr(name, length($3) + 1)"
    "  WHERE mailbox_id = $1 AND (id = $2 OR left(name, length($3) + 1) = $3 || '/')"
    "  AND (SELECT name FROM folders WHERE id = $2 AND mailbox_id = $1) = $3 RETURNING id),"
    " subs AS ("
    "  UPDATE subscriptions s SET name = $4 || substr(s.name, length($3) + 1)"
    "  WHERE s.mailbox_id = $1 AND (s.name = $3 OR left(s.name, length($3) + 1) = $3 || '/')"
    "  AND EXISTS (SELECT 1 FROM moved) AND NOT EXISTS (SELECT 1 FROM subscriptions t"
    "   WHERE t.mailbox_id = $1 AND t.name = $4 || substr(s.name, length($3) + 1)))"
    " SELECT count(*) FROM moved"};
static const struct db_stmt stmt_folder_name = {
    "store_folder_name", "SELECT name FROM folders WHERE id = $1 AND mailbox_id = $2"};

int store_folder_rename(struct store *st, const struct store_mailbox *mb, int64_t folder,
                        const char *new_name, const char **error_r)
{
	char canon[STORE_FOLDER_NAME_MAX + 1], old[STORE_FOLDER_NAME_MAX + 1];
	char b1[STORE_I64_BUFSZ], b2[STORE_I64_BUFSZ];
	const char *p2[2] = {store_i64(b1, folder), store_i64(b2, mb->id)};
	PGresult *res;
	int rc;

	if (!store_folder_name_valid(new_name)) {
		*error_r = "invalid folder name";
		return STORE_INVALID;
	}
	folder_canonical(new_name, canon, sizeof(canon));
	if (strncmp(canon, "INBOX", 5) == 0 && (canon[5] == '\0' || canon[5] == '/')) {
		*error_r = "cannot rename to INBOX";
		return STORE_INVALID;
	}
	if ((rc = store_exec(st, &stmt_folder_name, 2, p2, &res, error_r)) != STORE_OK)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		*error_r = "no such folder";
		return STORE_NOT_FOUND;
	}
	snprintf(old, sizeof(old), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (strcmp(old, "INBOX") == 0) {
		*error_r = "the INBOX cannot be renamed";
		return STORE_INVALID;
	}
	{
		const char *params[4] = {b2, b1, old, canon};
		struct db_conn *conn = db_acquire(st->pool, error_r);
		enum db_status ds;

		if (conn == NULL)
			return STORE_TEMPFAIL;
		ds = db_exec(conn, &stmt_folder_rename, 4, params, &res, error_r);
		if (ds == DB_ERROR && strcmp(db_last_sqlstate(conn), "23505") == 0) {
			db_release(&conn);
			*error_r = "a folder of that name exists";
			return STORE_EXISTS;
		}
		db_release(&conn);
		if (ds != DB_OK)
			return store_db_status(ds);
	}
	rc = strcmp(PQgetvalue(res, 0, 0), "0") == 0 ? STORE_NOT_FOUND : STORE_OK;
	PQclear(res);
	return rc;
}

static const struct db_stmt stmt_subscribe = {
    "store_subscribe",
    "INSERT INTO subscriptions (mailbox_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING"};
static const struct db_stmt stmt_unsubscribe = {
    "store_unsubscribe", "DELETE FROM subscriptions WHERE mailbox_id = $1 AND name = $2"};

int store_subscription_set(struct store *st, const struct store_mailbox *mb, const char *name,
                           bool subscribed, const char **error_r)
{
	char canon[STORE_FOLDER_NAME_MAX + 1], b1[STORE_I64_BUFSZ];
	const char *params[2] = {store_i64(b1, mb->id), canon};
	PGresult *res;
	int rc;

	if (!store_folder_name_valid(name)) {
		*error_r = "invalid folder name";
		return STORE_INVALID;
	}
	folder_canonical(name, canon, sizeof(canon));
	rc = store_exec(st, subscribed ? &stmt_subscribe : &stmt_unsubscribe, 2, params, &res, error_r);
	if (rc != STORE_OK)
		return rc;
	if (!subscribed && strcmp(PQcmdTuples(res), "0") == 0) {
		*error_r = "not subscribed";
		rc = STORE_NOT_FOUND;
	}
	PQclear(res);
	return rc;
}

/* --- reading --- */

int store_message_read(struct store *st, const struct store_mailbox *mb, const char *blob,
                       const char *header_prefix, struct sbuf *out, const char **error_r)
{
	char path[PATH_MAX], buf[65536];
	int fd, err;
	ssize_t n;

	if (store_blob_path(st, mb->storage_dir, blob, path, sizeof(path)) < 0) {
		*error_r = "bad blob name";
		return STORE_INVALID;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		*error_r = errorf("open %s: %s", path, strerror(err));
		return err == ENOENT ? STORE_NOT_FOUND : STORE_IO_ERROR;
	}
	if (header_prefix != NULL)
		sbuf_append_str(out, header_prefix);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			close(fd);
			*error_r = errorf("read %s: %s", path, strerror(err));
			return STORE_IO_ERROR;
		}
		sbuf_append(out, buf, (size_t)n);
	}
	close(fd);
	return STORE_OK;
}

/* --- quota warnings --- */

static const struct db_stmt stmt_claim = {
    "store_quota_claim",
    "UPDATE quota_usage SET warned_percent = $2 WHERE mailbox_id = $1 AND warned_percent < $2"};

int store_quota_claim_warning(struct store *st, int64_t mailbox_id, int percent, bool *claimed_r,
                              const char **error_r)
{
	char b1[STORE_I64_BUFSZ], b2[STORE_I64_BUFSZ];
	const char *params[2] = {store_i64(b1, mailbox_id), store_i64(b2, percent)};
	PGresult *res;
	int rc;

	*claimed_r = false;
	if ((rc = store_exec(st, &stmt_claim, 2, params, &res, error_r)) != STORE_OK)
		return rc;
	*claimed_r = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	return STORE_OK;
}
