/*
 * sieved_scripts.c: a mailbox's Sieve scripts in PostgreSQL (see
 * sieved_scripts.h), for sluice-sieved and sluice-admin.
 *
 * Statements are prepared (lib/db.h) and take every value as a parameter.
 * The one-active-script rule is also a partial unique index in the schema;
 * activation first clears the old active script and then sets the new one,
 * under a transaction-scoped advisory lock per mailbox, so two sessions
 * switching scripts at once take turns instead of tripping over the index.
 * The script check compiles with lib's Sieve compiler (mda/sieve.h) and an
 * include loader that reads the mailbox's other scripts and the global
 * folder; it may touch only that folder and the connection given.
 */
#include "sieved_scripts.h"
#include "db.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Key of the advisory locks on a mailbox's scripts: 'SIEV', then the mailbox. */
#define SIEVE_LOCK_CLASS "1397311830"

static const struct db_stmt stmt_mailbox = {
    "sieve_store_mailbox",
    "SELECT id FROM mailbox_directory WHERE domain = $2 AND lower(local_part) = lower($1)"
    " AND active"};
static const struct db_stmt stmt_lock = {"sieve_store_lock",
                                         "SELECT pg_advisory_xact_lock(" SIEVE_LOCK_CLASS
                                         ", ($1::bigint % 2147483647)::int)"};
static const struct db_stmt stmt_list = {
    "sieve_store_list", "SELECT name, active, octet_length(content),"
                        " to_char(modified AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                        " FROM sieve_scripts WHERE mailbox_id = $1 ORDER BY name"};
static const struct db_stmt stmt_get = {
    "sieve_store_get",
    "SELECT content, active FROM sieve_scripts WHERE mailbox_id = $1 AND name = $2"};
static const struct db_stmt stmt_count = {
    "sieve_store_count",
    "SELECT count(*), coalesce(bool_or(name = $2::text), false) FROM sieve_scripts"
    " WHERE mailbox_id = $1"};
static const struct db_stmt stmt_update = {"sieve_store_update",
                                           "UPDATE sieve_scripts SET content = $3, modified = now()"
                                           " WHERE mailbox_id = $1 AND name = $2"};
static const struct db_stmt stmt_insert = {
    "sieve_store_insert",
    "INSERT INTO sieve_scripts (mailbox_id, name, content) VALUES ($1, $2, $3)"};
static const struct db_stmt stmt_deactivate = {
    "sieve_store_deactivate",
    "UPDATE sieve_scripts SET active = false, modified = now()"
    " WHERE mailbox_id = $1 AND active AND name IS DISTINCT FROM $2::text"};
static const struct db_stmt stmt_activate = {
    "sieve_store_activate", "UPDATE sieve_scripts SET active = true, modified = now()"
                            " WHERE mailbox_id = $1 AND name = $2 AND NOT active"};
static const struct db_stmt stmt_delete = {
    "sieve_store_delete", "DELETE FROM sieve_scripts WHERE mailbox_id = $1 AND name = $2"};
static const struct db_stmt stmt_rename = {
    "sieve_store_rename",
    "UPDATE sieve_scripts SET name = $3, modified = now() WHERE mailbox_id = $1 AND name = $2"};
static const struct db_stmt stmt_active_name = {
    "sieve_store_active_name", "SELECT name FROM sieve_scripts WHERE mailbox_id = $1 AND active"};

/* Decode one UTF-8 character (RFC 3629): its length, or 0 when invalid. */
static size_t utf8_char(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	uint32_t cp, min;
	size_t n;

	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return n;
}

const char *sieve_script_name_check(const char *name, size_t len, unsigned int max_chars)
{
	const unsigned char *s = (const unsigned char *)name;
	unsigned int chars = 0;
	size_t pos = 0;

	if (len == 0)
		return "a script name cannot be empty";
	if (max_chars > SIEVE_SCRIPT_NAME_MAX)
		max_chars = SIEVE_SCRIPT_NAME_MAX;
	while (pos < len) {
		uint32_t cp;
		size_t n = utf8_char(s + pos, len - pos, &cp);

		if (n == 0)
			return "a script name must be valid UTF-8";
		/* RFC 5804 1.6: no control characters, no line or paragraph separators */
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029)
			return "a script name cannot hold control characters";
		if (cp == '/')
			return "a script name cannot hold \"/\"";
		if (++chars > max_chars)
			return errorf("a script name can have at most %u characters", max_chars);
		pos += n;
	}
	return NULL;
}

static enum sieve_store_status db_status(enum db_status st)
{
	return st == DB_TEMPFAIL ? SIEVE_STORE_TEMPFAIL : SIEVE_STORE_ERROR;
}

static enum sieve_store_status run(struct db_conn *conn, const struct db_stmt *stmt, int n,
                                   const char *const *params, PGresult **res_r,
                                   const char **error_r)
{
	PGresult *res = NULL;
	enum db_status st = db_exec(conn, stmt, n, params, &res, error_r);

	if (st != DB_OK)
		return db_status(st);
	if (res_r != NULL)
		*res_r = res;
	else
		PQclear(res);
	return SIEVE_STORE_OK;
}

enum sieve_store_status sieve_store_mailbox(struct db_conn *conn, const char *login,
                                            int64_t *mailbox_id_r, const char **error_r)
{
	const char *at = strrchr(login, '@');
	enum sieve_store_status st;
	PGresult *res;
	char *local;

	*mailbox_id_r = 0;
	if (at == NULL || at == login || at[1] == '\0') {
		*error_r = "not an address";
		return SIEVE_STORE_NONEXISTENT;
	}
	local = xstrndup(login, (size_t)(at - login));
	const char *params[2] = {local, at + 1};
	st = run(conn, &stmt_mailbox, 2, params, &res, error_r);
	free(local);
	if (st != SIEVE_STORE_OK)
		return st;
	if (PQntuples(res) != 1) {
		PQclear(res);
		*error_r = "no such active mailbox";
		return SIEVE_STORE_NONEXISTENT;
	}
	*mailbox_id_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return SIEVE_STORE_OK;
}

enum sieve_store_status sieve_store_lock(struct db_conn *conn, int64_t mailbox_id,
                                         const char **error_r)
{
	char id[24];

	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	const char *params[1] = {id};
	return run(conn, &stmt_lock, 1, params, NULL, error_r);
}

enum sieve_store_status sieve_store_list(struct db_conn *conn, int64_t mailbox_id,
                                         struct sieve_script_info **list_r, size_t *count_r,
                                         const char **error_r)
{
	struct sieve_script_info *list;
	enum sieve_store_status st;
	PGresult *res;
	char id[24];
	int n;

	*list_r = NULL;
	*count_r = 0;
	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	const char *params[1] = {id};
	if ((st = run(conn, &stmt_list, 1, params, &res, error_r)) != SIEVE_STORE_OK)
		return st;
	n = PQntuples(res);
	list = xcalloc((size_t)n + 1, sizeof(*list));
	for (int i = 0; i < n; i++) {
		list[i].name = xstrdup(PQgetvalue(res, i, 0));
		list[i].active = PQgetvalue(res, i, 1)[0] == 't';
		list[i].size = strtoll(PQgetvalue(res, i, 2), NULL, 10);
		list[i].modified = xstrdup(PQgetvalue(res, i, 3));
	}
	PQclear(res);
	*list_r = list;
	*count_r = (size_t)n;
	return SIEVE_STORE_OK;
}

void sieve_script_list_free(struct sieve_script_info **list, size_t count)
{
	if (*list == NULL)
		return;
	for (size_t i = 0; i < count; i++) {
		free((*list)[i].name);
		free((*list)[i].modified);
	}
	free(*list);
	*list = NULL;
}

enum sieve_store_status sieve_store_get(struct db_conn *conn, int64_t mailbox_id, const char *name,
                                        char **content_r, size_t *len_r, bool *active_r,
                                        const char **error_r)
{
	enum sieve_store_status st;
	PGresult *res;
	char id[24];

	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	const char *params[2] = {id, name};
	if ((st = run(conn, &stmt_get, 2, params, &res, error_r)) != SIEVE_STORE_OK)
		return st;
	if (PQntuples(res) != 1) {
		PQclear(res);
		*error_r = "no such script";
		return SIEVE_STORE_NONEXISTENT;
	}
	if (content_r != NULL) {
		*len_r = (size_t)PQgetlength(res, 0, 0);
		*content_r = xstrndup(PQgetvalue(res, 0, 0), *len_r);
	}
	if (active_r != NULL)
		*active_r = PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	return SIEVE_STORE_OK;
}

enum sieve_store_status sieve_store_count(struct db_conn *conn, int64_t mailbox_id,
                                          const char *name, unsigned int *count_r, bool *exists_r,
                                          const char **error_r)
{
	enum sieve_store_status st;
	PGresult *res;
	char id[24];

	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	const char *params[2] = {id, name};
	if ((st = run(conn, &stmt_count, 2, params, &res, error_r)) != SIEVE_STORE_OK)
		return st;
	*count_r = (unsigned int)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	if (exists_r != NULL)
		*exists_r = PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	return SIEVE_STORE_OK;
}

enum sieve_store_status sieve_store_put(struct db_conn *conn, int64_t mailbox_id, const char *name,
                                        const char *content, size_t len, unsigned int max_scripts,
                                        bool *created_r, const char **error_r)
{
	enum sieve_store_status st;
	unsigned int count;
	PGresult *res;
	char id[24], *text;
	bool exists;

	if (created_r != NULL)
		*created_r = false;
	if (memchr(content, '\0', len) != NULL) {
		/* a text column cannot hold NUL, and a Sieve script has none (RFC 5228 2.1) */
		*error_r = "a script cannot contain NUL";
		return SIEVE_STORE_ERROR;
	}
	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	text = xstrndup(content, len);
	const char *params[3] = {id, name, text};
	st = run(conn, &stmt_update, 3, params, &res, error_r);
	if (st == SIEVE_STORE_OK) {
		exists = strcmp(PQcmdTuples(res), "0") != 0;
		PQclear(res);
		if (!exists) {
			st = sieve_store_count(conn, mailbox_id, NULL, &count, NULL, error_r);
			if (st == SIEVE_STORE_OK && max_scripts > 0 && count >= max_scripts) {
				*error_r = "too many scripts";
				st = SIEVE_STORE_MAXSCRIPTS;
			}
			if (st == SIEVE_STORE_OK)
				st = run(conn, &stmt_insert, 3, params, NULL, error_r);
			if (st == SIEVE_STORE_OK && created_r != NULL)
				*created_r = true;
		}
	}
	free(text);
	return st;
}

enum sieve_store_status sieve_store_activate(struct db_conn *conn, int64_t mailbox_id,
                                             const char *name, const char **error_r)
{
	enum sieve_store_status st;
	char id[24];

	if (name != NULL && name[0] == '\0')
		name = NULL;
	if (name != NULL && (st = sieve_store_get(conn, mailbox_id, name, NULL, NULL, NULL,
	                                          error_r)) != SIEVE_STORE_OK)
		return st;
	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	const char *params[2] = {id, name};
	/* the old active script first: the partial unique index allows one at a time */
	if ((st = run(conn, &stmt_deactivate, 2, params, NULL, error_r)) != SIEVE_STORE_OK)
		return st;
	if (name == NULL)
		return SIEVE_STORE_OK;
	return run(conn, &stmt_activate, 2, params, NULL, error_r);
}

enum sieve_store_status sieve_store_delete(struct db_conn *conn, int64_t mailbox_id,
                                           const char *name, bool allow_active,
                                           const char **error_r)
{
	enum sieve_store_status st;
	bool active;
	char id[24];

	if ((st = sieve_store_get(conn, mailbox_id, name, NULL, NULL, &active, error_r)) !=
	    SIEVE_STORE_OK)
		return st;
	if (active && !allow_active) {
		*error_r = "the script is active";
		return SIEVE_STORE_ACTIVE;
	}
	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	const char *params[2] = {id, name};
	return run(conn, &stmt_delete, 2, params, NULL, error_r);
}

enum sieve_store_status sieve_store_rename(struct db_conn *conn, int64_t mailbox_id,
                                           const char *old_name, const char *new_name,
                                           const char **error_r)
{
	enum sieve_store_status st;
	unsigned int count;
	bool exists;
	char id[24];

	if ((st = sieve_store_get(conn, mailbox_id, old_name, NULL, NULL, NULL, error_r)) !=
	    SIEVE_STORE_OK)
		return st;
	if ((st = sieve_store_count(conn, mailbox_id, new_name, &count, &exists, error_r)) !=
	    SIEVE_STORE_OK)
		return st;
	if (exists) {
		*error_r = "a script of that name exists";
		return SIEVE_STORE_EXISTS;
	}
	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	const char *params[3] = {id, old_name, new_name};
	return run(conn, &stmt_rename, 3, params, NULL, error_r);
}

enum sieve_store_status sieve_store_active_name(struct db_conn *conn, int64_t mailbox_id,
                                                char **name_r, const char **error_r)
{
	enum sieve_store_status st;
	PGresult *res;
	char id[24];

	*name_r = NULL;
	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	const char *params[1] = {id};
	if ((st = run(conn, &stmt_active_name, 1, params, &res, error_r)) != SIEVE_STORE_OK)
		return st;
	if (PQntuples(res) > 0)
		*name_r = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return SIEVE_STORE_OK;
}

struct check_loader {
	const struct sieve_check *check;
	const char *content;
	size_t len;
	struct sbuf *warnings;
	bool tempfail;
	char *tempfail_error;
};

/* include :global: NAME.sieve, else NAME, in the global folder. */
static int load_global(const struct sieve_check *check, const char *name, char **data_r,
                       size_t *len_r, const char **error_r)
{
	size_t max = check->options->max_script_size;
	struct sbuf b = {0};
	char buf[8192], *path;
	FILE *f;
	size_t n;

	if (check->global_dir == NULL || check->global_dir[0] == '\0')
		return 0;
	path = xasprintf("%s/%s.sieve", check->global_dir, name);
	f = fopen(path, "rb");
	if (f == NULL && errno == ENOENT) {
		free(path);
		path = xasprintf("%s/%s", check->global_dir, name);
		f = fopen(path, "rb");
	}
	if (f == NULL) {
		int e = errno;
		free(path);
		if (e == ENOENT)
			return 0;
		*error_r = errorf("global script %s: %s", name, strerror(e));
		return -1;
	}
	free(path);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (b.len + n > max) {
			fclose(f);
			sbuf_free(&b);
			*error_r = errorf("global script %s is too large", name);
			return -1;
		}
		sbuf_append(&b, buf, n);
	}
	if (ferror(f)) {
		fclose(f);
		sbuf_free(&b);
		*error_r = errorf("global script %s: read error", name);
		return -1;
	}
	fclose(f);
	sbuf_append(&b, "", 0);
	*data_r = b.data;
	*len_r = b.len;
	return 1;
}

static int check_loader_load(void *ctx, enum sieve_script_location loc, const char *name,
                             char **data_r, size_t *len_r, const char **error_r)
{
	struct check_loader *l = ctx;
	const struct sieve_check *check = l->check;
	enum sieve_store_status st;
	const char *error = NULL;

	if (loc == SIEVE_LOCATION_GLOBAL)
		return load_global(check, name, data_r, len_r, error_r);
	if (check->name != NULL && strcmp(name, check->name) == 0) {
		/* the script being stored includes itself: its new content */
		*data_r = xstrndup(l->content, l->len);
		*len_r = l->len;
		return 1;
	}
	if (check->conn == NULL)
		return 0;
	st = sieve_store_get(check->conn, check->mailbox_id, name, data_r, len_r, NULL, &error);
	if (st == SIEVE_STORE_OK)
		return 1;
	if (st == SIEVE_STORE_NONEXISTENT) {
		if (check->mode == SIEVE_CHECK_ACTIVATE)
			return 0;
		sbuf_appendf(l->warnings,
		             "include: script \"%s\" does not exist yet; upload it before this "
		             "script is activated\n",
		             name);
		*data_r = xstrdup("");
		*len_r = 0;
		return 1;
	}
	l->tempfail = true;
	free(l->tempfail_error);
	l->tempfail_error = xstrdup(error != NULL ? error : "database error");
	*error_r = "the scripts cannot be read now";
	return -1;
}

enum sieve_check_result sieve_script_check(const struct sieve_check *check, const char *content,
                                           size_t len, struct sbuf *errors_r,
                                           struct sbuf *warnings_r, const char **error_r)
{
	struct sieve_compile_options opts = *check->options;
	struct check_loader loader = {
	    .check = check, .content = content, .len = len, .warnings = warnings_r};
	struct sieve_program *program = NULL;
	struct sieve_errors errors = {0};
	int rc;

	opts.include_loader = check_loader_load;
	opts.include_ctx = &loader;
	rc = sieve_compile(content, len, &opts, &program, &errors);
	sieve_program_free(&program);
	if (loader.tempfail) {
		*error_r = errorf("%s", loader.tempfail_error);
		free(loader.tempfail_error);
		sieve_errors_clear(&errors);
		return SIEVE_CHECK_TEMPFAIL;
	}
	free(loader.tempfail_error);
	if (rc < 0) {
		sieve_errors_format(&errors, errors_r);
		sieve_errors_clear(&errors);
		return SIEVE_CHECK_INVALID;
	}
	sieve_errors_clear(&errors);
	return SIEVE_CHECK_OK;
}

enum sieve_check_result sieve_check_active(const struct sieve_check *check, const char *except,
                                           char **active_r, struct sbuf *errors_r,
                                           const char **error_r)
{
	struct sieve_check active_check = *check;
	struct sbuf warnings = {0};
	enum sieve_store_status st;
	enum sieve_check_result r;
	char *active = NULL, *content = NULL;
	size_t len = 0;

	*active_r = NULL;
	st = sieve_store_active_name(check->conn, check->mailbox_id, &active, error_r);
	if (st != SIEVE_STORE_OK)
		return SIEVE_CHECK_TEMPFAIL;
	if (active == NULL)
		return SIEVE_CHECK_OK;
	if (except != NULL && strcmp(active, except) == 0) {
		free(active);
		return SIEVE_CHECK_OK;
	}
	st = sieve_store_get(check->conn, check->mailbox_id, active, &content, &len, NULL, error_r);
	if (st != SIEVE_STORE_OK) {
		free(active);
		return SIEVE_CHECK_TEMPFAIL;
	}
	active_check.mode = SIEVE_CHECK_ACTIVATE;
	active_check.name = active;
	r = sieve_script_check(&active_check, content, len, errors_r, &warnings, error_r);
	sbuf_free(&warnings);
	free(content);
	if (r == SIEVE_CHECK_INVALID)
		*active_r = active;
	else
		free(active);
	return r;
}
