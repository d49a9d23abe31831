/*
 * store.h: the mail store, the one writer of its rules for every program
 * (sluice-lmtpd delivers, sluice-imapd appends, copies, moves, expunges and
 * sets flags, sluice-admin checks and repairs).
 *
 * A mailbox's messages are immutable files under mail_root/<storage_dir>/
 * ("blobs", named msg/YYYYMM/<time>.<random>), written to mail_root/tmp,
 * fsynced, then hard-linked into place, the directory fsynced (one fsync
 * serves every link made before it started, whoever made it), and only
 * then indexed: the row in `messages` (folder, UID, MODSEQ, flags, internal
 * date, size, cached ENVELOPE, BODYSTRUCTURE and preview) and the quota
 * usage change in one transaction, with a NOTIFY on the mailbox's channel
 * ("sluice_mailbox_<id>", payload "<folder id> <modseq>"). A message stored
 * for several recipients is one file with one hard link per mailbox; each
 * row has its own link, so removing a row's file never touches another's.
 * A message's bytes are the row's header_prefix (what the delivery agent
 * added for that recipient: Return-Path, Delivered-To) followed by the file.
 *
 * Functions return an enum store_status (store_deliver() one per target);
 * failures also set *error_r (a static string or errorf()'s per-thread
 * buffer) for the log.
 * The store borrows connections from the pool it was given; it keeps no
 * state per mailbox, so any number of processes and hosts may share it.
 */
#ifndef SLUICE_STORE_H
#define SLUICE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "util.h"

struct db_pool;
struct store;
struct store_msg;

enum store_status {
	STORE_OK = 0,
	STORE_TEMPFAIL = -1,          /* the database is unavailable: try later (451 4.3.0) */
	STORE_DISK_FULL = -2,         /* ENOSPC / EDQUOT on the store (452 4.3.1) */
	STORE_IO_ERROR = -3,          /* another filesystem failure (451 4.3.0) */
	STORE_OVER_QUOTA = -4,        /* the mailbox's bytes or messages (552 5.2.2) */
	STORE_OVER_DOMAIN_QUOTA = -5, /* the domain's bytes (552 5.2.2) */
	STORE_NOT_FOUND = -6,         /* no such mailbox, folder or message */
	STORE_EXISTS = -7,            /* a folder of that name exists */
	STORE_INVALID = -8,           /* a bad folder name, or INBOX renamed or deleted */
	STORE_DB_ERROR = -9,          /* the database refused (a bug, or a changed schema) */
};

/* "ok", "tempfail", "disk full", ... for logs. */
const char *store_status_name(enum store_status status);

/* System flags (messages.flags). \Recent is per session and never stored. */
enum store_flag {
	STORE_FLAG_SEEN = 1 << 0,
	STORE_FLAG_ANSWERED = 1 << 1,
	STORE_FLAG_FLAGGED = 1 << 2,
	STORE_FLAG_DELETED = 1 << 3,
	STORE_FLAG_DRAFT = 1 << 4,
};
#define STORE_FLAGS_ALL 0x1f

/* Longest storage_dir and blob name, and a folder name in bytes. */
#define STORE_DIR_MAX 512
#define STORE_BLOB_MAX 64
#define STORE_FOLDER_NAME_MAX 1024

struct store_settings {
	const char *mail_root; /* absolute; made if missing */
};

/* The store over mail_root and a pool (not owned; it must outlive the store). */
int store_create(const struct store_settings *set, struct db_pool *pool, struct store **st_r,
                 const char **error_r);
void store_destroy(struct store **st);
const char *store_mail_root(const struct store *st);
struct db_pool *store_pool(const struct store *st);

/* --- mailboxes --- */

struct store_mailbox {
	int64_t id;
	int64_t domain_id;
	char local[ADDR_LOCAL_BUFSZ]; /* as stored */
	char domain[ADDR_DOMAIN_BUFSZ];
	char storage_dir[STORE_DIR_MAX];
	bool active;      /* the mailbox and its domain */
	int64_t inbox_id; /* 0 until the folders are made (store_mailbox_init) */
	/* limits (0: none) and usage when looked up */
	int64_t quota_bytes, quota_messages, domain_quota_bytes;
	int64_t used_bytes, used_messages, domain_used_bytes;
	int warned_percent;
};

/*
 * Find the mailbox of local@domain (local part without case, domain as
 * normalized; an alias domain is followed to its target). STORE_OK,
 * STORE_NOT_FOUND, STORE_TEMPFAIL or STORE_DB_ERROR. The domain's usage is
 * summed only when it has a quota.
 */
int store_mailbox_lookup(struct store *st, const char *local, const char *domain,
                         struct store_mailbox *mb, const char **error_r);
/* The same by id (sluice-admin, tests). */
int store_mailbox_by_id(struct store *st, int64_t id, struct store_mailbox *mb,
                        const char **error_r);
/* Make the usage row, INBOX and the special-use folders (Sent, Drafts,
 * Trash, Junk, Archive) if missing; sets mb->inbox_id. */
int store_mailbox_init(struct store *st, struct store_mailbox *mb, const char **error_r);

/* --- a message being stored --- */

/* A new message: a file in mail_root/tmp to write to. */
int store_msg_begin(struct store *st, struct store_msg **msg_r, const char **error_r);
/* Append bytes (the caller gives CRLF line ends). */
int store_msg_write(struct store_msg *msg, const void *data, size_t len, const char **error_r);
/*
 * Done writing: flush, fsync, map the file and compute what the index
 * caches (ENVELOPE, BODYSTRUCTURE, preview). Nothing can be written after.
 */
int store_msg_finish(struct store_msg *msg, const char **error_r);
/* After finish: the message's bytes (read-only, valid until free) and size. */
const char *store_msg_data(const struct store_msg *msg, size_t *len_r);
/* Remove the temporary file (if still there) and free; accepts NULL. */
void store_msg_free(struct store_msg **msg);

/* One place to store a message into (LMTP: one per recipient). */
struct store_target {
	/* in */
	const struct store_mailbox *mailbox; /* with inbox_id set (store_mailbox_init) */
	int64_t folder_id;                   /* > 0: this folder; else by name */
	const char *folder;                  /* NULL or "INBOX": the INBOX */
	bool create_folder;                  /* make `folder` if missing (Sieve fileinto :create) */
	unsigned int flags;                  /* enum store_flag bits */
	const char *const *keywords;
	size_t nkeywords;
	const char *header_prefix; /* NULL or header fields, each ending in CRLF */
	bool check_quota;          /* false for quota warnings and administrative imports */
	/* NULL: the message given to store_deliver(); else this one (finished), for a
	   target whose copy differs (Sieve editheader); it is linked and counted instead */
	struct store_msg *msg;
	/* out */
	enum store_status status;
	char error[256];
	bool fell_back; /* `folder` was missing and the INBOX got it */
	int64_t stored_folder_id, uid, modseq;
	int64_t used_bytes, used_messages; /* the mailbox's usage after the change */
	int warned_percent;
};

/*
 * Store msg (finished) into every target: a hard link per target, one
 * directory fsync per directory, then one database transaction for all
 * rows, whose per-target result is in target->status (a folder missing or
 * over quota fails its target alone; a database failure fails them all).
 * Only a target with STORE_OK is durable: file, row and usage committed.
 * A target with its own target->msg gets that message instead of msg.
 * internal_date 0 means now.
 */
void store_deliver(struct store *st, struct store_msg *msg, time_t internal_date,
                   struct store_target *targets, size_t ntargets);

/* --- IMAP operations; folders belong to mb, UIDs are sorted or not --- */

struct store_uid_pair {
	int64_t src_uid, dst_uid;
};

/* Copy messages (new links, same bytes); *pairs_r (free()) in the order given. */
int store_copy(struct store *st, const struct store_mailbox *mb, int64_t src_folder,
               const int64_t *uids, size_t nuids, int64_t dst_folder, bool check_quota,
               struct store_uid_pair **pairs_r, size_t *npairs_r, const char **error_r);
/* Move messages to another folder of the mailbox (RFC 6851): new UIDs there. */
int store_move(struct store *st, const struct store_mailbox *mb, int64_t src_folder,
               const int64_t *uids, size_t nuids, int64_t dst_folder,
               struct store_uid_pair **pairs_r, size_t *npairs_r, const char **error_r);
/* Expunge messages: rows, usage, then the files; *expunged_r (free()) the UIDs gone. */
int store_expunge(struct store *st, const struct store_mailbox *mb, int64_t folder,
                  const int64_t *uids, size_t nuids, int64_t **expunged_r, size_t *nexpunged_r,
                  const char **error_r);

enum store_flag_mode { STORE_FLAGS_ADD, STORE_FLAGS_REMOVE, STORE_FLAGS_REPLACE };

struct store_flag_change {
	int64_t uid, modseq;
	unsigned int flags;
	char **keywords; /* freed with store_flag_changes_free() */
	size_t nkeywords;
};

/*
 * STORE: change flags and keywords; messages with a modseq above
 * unchangedsince (>= 0; -1: no condition, RFC 7162 3.1.3) are left alone.
 * *changes_r lists the messages that changed, with their new state.
 */
int store_set_flags(struct store *st, const struct store_mailbox *mb, int64_t folder,
                    const int64_t *uids, size_t nuids, enum store_flag_mode mode,
                    unsigned int flags, const char *const *keywords, size_t nkeywords,
                    int64_t unchangedsince, struct store_flag_change **changes_r,
                    size_t *nchanges_r, const char **error_r);
void store_flag_changes_free(struct store_flag_change **changes, size_t n);

/* Folder names: UTF-8, '/' separated, no empty level, 1..1024 bytes; "INBOX" any case. */
bool store_folder_name_valid(const char *name);
/* Make a folder (special_use NULL or "\\Sent"...); STORE_EXISTS if there. */
int store_folder_create(struct store *st, const struct store_mailbox *mb, const char *name,
                        const char *special_use, int64_t *id_r, const char **error_r);
/* Find a folder by name ("inbox" in any case is INBOX); STORE_NOT_FOUND if none. */
int store_folder_find(struct store *st, const struct store_mailbox *mb, const char *name,
                      int64_t *id_r, const char **error_r);
/* Delete a folder (not INBOX) with its messages and their files. */
int store_folder_delete(struct store *st, const struct store_mailbox *mb, int64_t folder,
                        const char **error_r);
/* Rename a folder and the folders below it ("a" -> "b" moves "a/x" to "b/x"). */
int store_folder_rename(struct store *st, const struct store_mailbox *mb, int64_t folder,
                        const char *new_name, const char **error_r);
/*
 * Subscribe or unsubscribe a folder name (RFC 3501 6.3.6-7): names, not
 * folders, so a name may be subscribed whether its folder exists or not.
 * A new folder's name is subscribed when it is made.
 */
int store_subscription_set(struct store *st, const struct store_mailbox *mb, const char *name,
                           bool subscribed, const char **error_r);

/* --- reading --- */

/* Append a message's bytes (header_prefix, then the blob's file) to out. */
int store_message_read(struct store *st, const struct store_mailbox *mb, const char *blob,
                       const char *header_prefix, struct sbuf *out, const char **error_r);
/* The absolute path of a blob of mb into buf (PATH_MAX bytes); -1 if too long. */
int store_blob_path(const struct store *st, const char *storage_dir, const char *blob, char *buf,
                    size_t size);

/* --- quota warnings --- */

/*
 * Claim the warning for `percent` (raise warned_percent to it unless it is
 * already there or above): STORE_OK with *claimed_r true when this caller
 * must send the warning.
 */
int store_quota_claim_warning(struct store *st, int64_t mailbox_id, int percent, bool *claimed_r,
                              const char **error_r);

/* --- consistency (sluice-admin store check, quota recalc) --- */

struct store_check_options {
	bool repair;           /* false: report only */
	int64_t grace_seconds; /* files younger than this are left alone */
};

struct store_check_report {
	uint64_t rows, files;
	uint64_t orphan_files;  /* files no row names (removed when repairing) */
	uint64_t missing_files; /* rows whose file is gone (expunged when repairing) */
	uint64_t young_files;   /* orphans within the grace period, left alone */
	uint64_t tmp_files;     /* leftovers in mail_root/tmp (removed when repairing) */
	uint64_t uidnext_fixed; /* folders whose UIDNEXT was raised */
	int64_t old_bytes, old_messages, new_bytes, new_messages; /* usage recounted */
};

/*
 * Check one mailbox: every row's file and every file's row; with repair,
 * remove orphan files older than the grace period, expunge rows without a
 * file, raise a UIDNEXT that is not above every UID, and recount usage.
 * Adds to *rep.
 */
int store_check_mailbox(struct store *st, const struct store_mailbox *mb,
                        const struct store_check_options *opt, struct store_check_report *rep,
                        const char **error_r);
/* Files left in mail_root/tmp by a crash (older than the grace period). */
int store_check_tmp(struct store *st, const struct store_check_options *opt,
                    struct store_check_report *rep, const char **error_r);
/* Count a mailbox's usage again from its messages; before and after in *rep. */
int store_quota_recalc(struct store *st, int64_t mailbox_id, struct store_check_report *rep,
                       const char **error_r);

#endif
