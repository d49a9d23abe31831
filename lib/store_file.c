/*
 * store_file.c: the mail store's filesystem side: blob names, hard links
 * into a mailbox's directory, directories made durably, and directory
 * fsyncs shared between threads (a "group commit" of directory entries).
 *
 * Touches only paths under mail_root built from storage_dir values of the
 * database and names made here; storage_dir comes from sluice-admin, which
 * allows no "..", but is checked again before use. Also the small helpers
 * for PostgreSQL array literals the store's statements take.
 */
#include "log.h"
#include "store_private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* One directory being fsynced, or waited for. */
struct store_dirsync {
	struct store_dirsync *next;
	char *path;
	uint64_t requested; /* changes announced (each caller's ticket) */
	uint64_t done;      /* every ticket up to this one is durable */
	uint64_t failed;    /* tickets up to this one saw a failed fsync */
	int failed_errno;
	bool running;
	unsigned int users;
};

enum store_status store_errno_status(int err)
{
	return err == ENOSPC || err == EDQUOT ? STORE_DISK_FULL : STORE_IO_ERROR;
}

enum store_status store_db_status(enum db_status status)
{
	switch (status) {
	case DB_OK:
		return STORE_OK;
	case DB_TEMPFAIL:
		return STORE_TEMPFAIL;
	default:
		return STORE_DB_ERROR;
	}
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc, saved;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int store_dir_sync(struct store *st, const char *path, const char **error_r)
{
	struct store_dirsync *e, **pp;
	uint64_t ticket;
	int rc = 0, err = 0;

	pthread_mutex_lock(&st->sync_lock);
	for (e = st->syncs; e != NULL; e = e->next) {
		if (strcmp(e->path, path) == 0)
			break;
	}
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->path = xstrdup(path);
		e->next = st->syncs;
		st->syncs = e;
	}
	e->users++;
	/* our link was made before this point: any fsync that starts later covers it */
	ticket = ++e->requested;
	while (e->done < ticket) {
		if (e->failed >= ticket) {
			rc = -1;
			err = e->failed_errno;
			break;
		}
		if (e->running) {
			pthread_cond_wait(&st->sync_cond, &st->sync_lock);
			continue;
		}
		uint64_t covers = e->requested;
		int r, saved;

		e->running = true;
		pthread_mutex_unlock(&st->sync_lock);
		r = fsync_dir(path);
		saved = errno;
		pthread_mutex_lock(&st->sync_lock);
		e->running = false;
		if (r == 0) {
			e->done = covers;
		} else {
			e->failed = covers;
			e->failed_errno = saved;
		}
		pthread_cond_broadcast(&st->sync_cond);
	}
	if (--e->users == 0 && !e->running) {
		for (pp = &st->syncs; *pp != e; pp = &(*pp)->next)
			;
		*pp = e->next;
		free(e->path);
		free(e);
	}
	pthread_mutex_unlock(&st->sync_lock);
	if (rc < 0) {
		*error_r = errorf("fsync of directory %s: %s", path, strerror(err));
		return store_errno_status(err);
	}
	return STORE_OK;
}

/* A relative path we are willing to build: no "..", no "//", not absolute. */
static bool rel_path_safe(const char *rel)
{
	const char *p = rel;

	if (*rel == '\0' || *rel == '/')
		return false;
	while (*p != '\0') {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/')
			p++;
	}
	return p[-1] != '/';
}

int store_mkdirs(struct store *st, const char *rel, const char **error_r)
{
	char path[PATH_MAX], parent[PATH_MAX];
	size_t root_len = strlen(st->mail_root);
	char *p;
	int rc;

	if (!rel_path_safe(rel)) {
		*error_r = errorf("refusing the store path '%s'", rel);
		return STORE_IO_ERROR;
	}
	if (snprintf(path, sizeof(path), "%s/%s", st->mail_root, rel) >= (int)sizeof(path)) {
		*error_r = "store path too long";
		return STORE_IO_ERROR;
	}
	/* each component below mail_root, shortest first */
	for (p = path + root_len + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;

		*p = '\0';
		if (mkdir(path, 0700) == 0) {
			snprintf(parent, sizeof(parent), "%s", path);
			*strrchr(parent, '/') = '\0';
			if ((rc = store_dir_sync(st, parent, error_r)) != STORE_OK)
				return rc;
		} else if (errno != EEXIST) {
			int err = errno;

			*error_r = errorf("mkdir %s: %s", path, strerror(err));
			return store_errno_status(err);
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	return STORE_OK;
}

void store_blob_name(time_t now, char *buf)
{
	struct tm tm;
	uint8_t rnd[10];
	char hex[sizeof(rnd) * 2 + 1];
	size_t got = 0;

	while (got < sizeof(rnd)) {
		ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_panic("getrandom: %s", strerror(errno));
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	gmtime_r(&now, &tm);
	snprintf(buf, STORE_BLOB_MAX, "msg/%04d%02d/%lld.%s", tm.tm_year + 1900, tm.tm_mon + 1,
	         (long long)now, hex);
}

int store_blob_path(const struct store *st, const char *storage_dir, const char *blob, char *buf,
                    size_t size)
{
	if (!rel_path_safe(storage_dir) || !rel_path_safe(blob))
		return -1;
	if (snprintf(buf, size, "%s/%s/%s", st->mail_root, storage_dir, blob) >= (int)size)
		return -1;
	return 0;
}

int store_blob_dir(const struct store *st, const char *storage_dir, const char *blob, char *buf,
                   size_t size)
{
	char *slash;

	if (store_blob_path(st, storage_dir, blob, buf, size) < 0)
		return -1;
	slash = strrchr(buf, '/');
	*slash = '\0';
	return 0;
}

int store_blob_link(struct store *st, const char *src, const char *storage_dir, const char *blob,
                    const char **error_r)
{
	char path[PATH_MAX], rel[PATH_MAX];
	int rc, err;

	if (store_blob_path(st, storage_dir, blob, path, sizeof(path)) < 0) {
		*error_r = errorf("bad storage path '%s/%s'", storage_dir, blob);
		return STORE_IO_ERROR;
	}
	if (link(src, path) == 0)
		return STORE_OK;
	if (errno != ENOENT) {
		err = errno;
		*error_r = errorf("link %s: %s", path, strerror(err));
		return store_errno_status(err);
	}
	/* the mailbox or this month's directory is new */
	snprintf(rel, sizeof(rel), "%s/%s", storage_dir, blob);
	*strrchr(rel, '/') = '\0';
	if ((rc = store_mkdirs(st, rel, error_r)) != STORE_OK)
		return rc;
	if (link(src, path) < 0) {
		err = errno;
		*error_r = errorf("link %s: %s", path, strerror(err));
		return store_errno_status(err);
	}
	return STORE_OK;
}

void store_blob_unlink(struct store *st, const char *storage_dir, const char *blob)
{
	char path[PATH_MAX];

	if (store_blob_path(st, storage_dir, blob, path, sizeof(path)) < 0)
		return;
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("store: unlink %s: %s", path, strerror(errno));
}

char *store_int_array(const int64_t *values, size_t n)
{
	struct sbuf b = {0};

	sbuf_append_str(&b, "{");
	for (size_t i = 0; i < n; i++)
		sbuf_appendf(&b, "%s%lld", i > 0 ? "," : "", (long long)values[i]);
	sbuf_append_str(&b, "}");
	return b.data;
}

char *store_text_array(const char *const *values, size_t n)
{
	struct sbuf b = {0};

	sbuf_append_str(&b, "{");
	for (size_t i = 0; i < n; i++) {
		sbuf_append_str(&b, i > 0 ? ",\"" : "\"");
		for (const char *p = values[i]; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				sbuf_append(&b, "\\", 1);
			sbuf_append(&b, p, 1);
		}
		sbuf_append_str(&b, "\"");
	}
	sbuf_append_str(&b, "}");
	return b.data;
}

int store_parse_text_array(const char *lit, char ***items_r, size_t *n_r)
{
	const char *p = lit;
	char **items = NULL;
	size_t n = 0;

	*items_r = NULL;
	*n_r = 0;
	if (*p++ != '{')
		return -1;
	while (*p != '}' && *p != '\0') {
		struct sbuf item = {0};

		if (*p == '"') {
			for (p++; *p != '"' && *p != '\0'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				sbuf_append(&item, p, 1);
			}
			if (*p == '"')
				p++;
		} else {
			size_t len = strcspn(p, ",}");

			sbuf_append(&item, p, len);
			p += len;
		}
		items = xrealloc(items, (n + 1) * sizeof(*items));
		items[n++] = xstrdup(sbuf_str(&item));
		sbuf_free(&item);
		if (*p == ',')
			p++;
	}
	*items_r = items;
	*n_r = n;
	return *p == '}' ? 0 : -1;
}
