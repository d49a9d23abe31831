/*
 * store_private.h: what the files of the mail store share (store.c,
 * store_file.c, store_msg.c, store_deliver.c, store_ops.c, store_check.c):
 * the store struct, the filesystem helpers and the mapping of failures to
 * statuses. Not for the store's users.
 */
#ifndef SLUICE_STORE_PRIVATE_H
#define SLUICE_STORE_PRIVATE_H

#include <pthread.h>

#include "db.h"
#include "store.h"

struct store_dirsync;

struct store {
	char *mail_root;
	struct db_pool *pool;
	/* directory fsyncs in progress, shared by every thread (store_file.c) */
	pthread_mutex_t sync_lock;
	pthread_cond_t sync_cond;
	struct store_dirsync *syncs;
};

/* Subdirectory of mail_root for messages being written. */
#define STORE_TMP_DIR "tmp"

/* errno of a failed file operation as a status: ENOSPC / EDQUOT are STORE_DISK_FULL. */
enum store_status store_errno_status(int err);
/* A lib/db.h status as ours. */
enum store_status store_db_status(enum db_status status);

/*
 * fsync the directory at path (absolute). A caller whose link or rename was
 * made before an fsync of the same directory began shares that fsync
 * instead of starting its own (group commit of directory entries).
 */
int store_dir_sync(struct store *st, const char *path, const char **error_r);
/* Make the directories of rel (relative to mail_root) that are missing,
 * fsyncing the parent of each one made. */
int store_mkdirs(struct store *st, const char *rel, const char **error_r);
/* A new blob name "msg/YYYYMM/<time>.<random>" into buf (STORE_BLOB_MAX). */
void store_blob_name(time_t now, char *buf);
/*
 * Hard-link the file at src (absolute) as blob of storage_dir, making
 * directories as needed. Does not fsync the directory: the caller does,
 * once per directory (store_blob_dir()).
 */
int store_blob_link(struct store *st, const char *src, const char *storage_dir, const char *blob,
                    const char **error_r);
/* The absolute directory holding a blob into buf (PATH_MAX). */
int store_blob_dir(const struct store *st, const char *storage_dir, const char *blob, char *buf,
                   size_t size);
/* Remove a blob's file; a missing file is fine. */
void store_blob_unlink(struct store *st, const char *storage_dir, const char *blob);

/* The cached IMAP data of a finished message (store_msg.c). */
const char *store_msg_envelope(const struct store_msg *msg);
const char *store_msg_bodystructure(const struct store_msg *msg);
const char *store_msg_preview(const struct store_msg *msg);
/* The header fields of imap_header_cache(), or NULL when they are not cached. */
const char *store_msg_header_fields(const struct store_msg *msg);
const char *store_msg_tmp_path(const struct store_msg *msg);
int64_t store_msg_size(const struct store_msg *msg);

/* Run one statement on a pooled connection (autocommit); *res_r may be NULL. */
int store_exec(struct store *st, const struct db_stmt *stmt, int nparams, const char *const *params,
               PGresult **res_r, const char **error_r);
/* The text of an int64 parameter; buf has STORE_I64_BUFSZ bytes. */
#define STORE_I64_BUFSZ 24
const char *store_i64(char *buf, int64_t v);
/* Remove files of blobs after the rows that named them are gone. */
void store_unlink_blobs(struct store *st, const struct store_mailbox *mb, PGresult *res,
                        int column);

/* "{1,2,3}": a PostgreSQL array literal of integers (free()). */
char *store_int_array(const int64_t *values, size_t n);
/* A PostgreSQL array literal of strings (free()). */
char *store_text_array(const char *const *values, size_t n);
/* Parse a PostgreSQL text[] literal into strings (free each and the array). */
int store_parse_text_array(const char *lit, char ***items_r, size_t *n_r);

#endif
