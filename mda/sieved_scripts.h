/*
 * sieved_scripts.h: a mailbox's Sieve scripts in the database (table
 * sieve_scripts, one active script per mailbox), shared by sluice-sieved
 * (ManageSieve) and `sluice-admin sieve`: the rules for script names, the
 * check that compiles an upload with its personal includes, and the
 * statements that read and change the scripts.
 *
 * Every function runs on a connection the caller borrowed, inside the
 * caller's transaction when it changes something (sieve_store_lock() first,
 * so that concurrent changes to one mailbox's scripts take turns and the
 * count limit and the one-active rule hold).
 */
#ifndef SLUICE_SIEVED_SCRIPTS_H
#define SLUICE_SIEVED_SCRIPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sieve.h"
#include "util.h"

struct db_conn;

enum sieve_store_status {
	SIEVE_STORE_OK = 0,
	SIEVE_STORE_NONEXISTENT, /* no such script (or mailbox) */
	SIEVE_STORE_EXISTS,      /* a script of that name exists already */
	SIEVE_STORE_ACTIVE,      /* refused because the script is the active one */
	SIEVE_STORE_MAXSCRIPTS,  /* the mailbox has as many scripts as allowed */
	SIEVE_STORE_TEMPFAIL,    /* the database is unavailable: try again later */
	SIEVE_STORE_ERROR,       /* the database refused (see db_last_sqlstate()) */
};

/* The database column's bound on a name's length, in characters. */
#define SIEVE_SCRIPT_NAME_MAX 255

/*
 * RFC 5804 1.6: a script name is 1 to max_chars characters of valid UTF-8
 * (Net-Unicode) without control characters (U+0000-001F, U+007F-009F) nor
 * the line and paragraph separators U+2028 and U+2029. Sluice also refuses
 * "/" so that a name is always usable by include (RFC 6609 3.2). NULL when
 * fine, else why not.
 */
const char *sieve_script_name_check(const char *name, size_t len, unsigned int max_chars);

/*
 * The mailbox a canonical login ("local@domain", as sluice-authd gives it)
 * owns: NONEXISTENT when there is none or it is inactive.
 */
enum sieve_store_status sieve_store_mailbox(struct db_conn *conn, const char *login,
                                            int64_t *mailbox_id_r, const char **error_r);

/* Take the transaction-scoped lock that serializes changes to a mailbox's scripts. */
enum sieve_store_status sieve_store_lock(struct db_conn *conn, int64_t mailbox_id,
                                         const char **error_r);

struct sieve_script_info {
	char *name;
	bool active;
	int64_t size;   /* octets of content */
	char *modified; /* "YYYY-MM-DDTHH:MM:SSZ" */
};

/* Every script of a mailbox, by name; free with sieve_script_list_free(). */
enum sieve_store_status sieve_store_list(struct db_conn *conn, int64_t mailbox_id,
                                         struct sieve_script_info **list_r, size_t *count_r,
                                         const char **error_r);
void sieve_script_list_free(struct sieve_script_info **list, size_t count);

/* One script's content (xmalloc'd, NUL-terminated) and whether it is active. */
enum sieve_store_status sieve_store_get(struct db_conn *conn, int64_t mailbox_id, const char *name,
                                        char **content_r, size_t *len_r, bool *active_r,
                                        const char **error_r);
/* The number of scripts, and whether `name` (may be NULL) is one of them. */
enum sieve_store_status sieve_store_count(struct db_conn *conn, int64_t mailbox_id,
                                          const char *name, unsigned int *count_r, bool *exists_r,
                                          const char **error_r);
/*
 * Store a script, replacing one of the same name (which stays active if it
 * was). A new name past max_scripts (0: no limit) is MAXSCRIPTS. *created_r
 * (may be NULL) tells whether the name was new.
 */
enum sieve_store_status sieve_store_put(struct db_conn *conn, int64_t mailbox_id, const char *name,
                                        const char *content, size_t len, unsigned int max_scripts,
                                        bool *created_r, const char **error_r);
/* Make `name` the active script, or deactivate every script when name is NULL or "". */
enum sieve_store_status sieve_store_activate(struct db_conn *conn, int64_t mailbox_id,
                                             const char *name, const char **error_r);
/* Delete a script; the active one only with allow_active (RFC 5804 2.10 refuses it). */
enum sieve_store_status sieve_store_delete(struct db_conn *conn, int64_t mailbox_id,
                                           const char *name, bool allow_active,
                                           const char **error_r);
/* Rename a script; it stays active if it was (RFC 5804 2.11.1). */
enum sieve_store_status sieve_store_rename(struct db_conn *conn, int64_t mailbox_id,
                                           const char *old_name, const char *new_name,
                                           const char **error_r);
/* The name of the active script (xmalloc'd), or NULL in *name_r when none. */
enum sieve_store_status sieve_store_active_name(struct db_conn *conn, int64_t mailbox_id,
                                                char **name_r, const char **error_r);

/* How a script that includes others is checked. */
enum sieve_check_mode {
	/* Upload (PUTSCRIPT, CHECKSCRIPT): a personal script it includes that does
	   not exist yet is a warning, so scripts can be uploaded in any order. */
	SIEVE_CHECK_UPLOAD,
	/* Activation: everything it includes must exist and compile. */
	SIEVE_CHECK_ACTIVATE,
};

struct sieve_check {
	struct db_conn *conn;
	int64_t mailbox_id;
	const struct sieve_compile_options
	    *options;           /* extensions and limits; its loader is ignored */
	const char *global_dir; /* include :global reads NAME.sieve or NAME here */
	enum sieve_check_mode mode;
	const char *name; /* the script's own name (NULL for CHECKSCRIPT) */
};

enum sieve_check_result {
	SIEVE_CHECK_OK,       /* compiles; *warnings_r may hold warnings */
	SIEVE_CHECK_INVALID,  /* does not compile: *errors_r says why, line by line */
	SIEVE_CHECK_TEMPFAIL, /* reading an included script failed: try again later */
};

/*
 * Compile a script as it will run at delivery: personal includes come from
 * the mailbox's scripts (its own name reads the content given), global ones
 * from global_dir. Errors and warnings are "line L, column C: ..." lines
 * (appended).
 */
enum sieve_check_result sieve_script_check(const struct sieve_check *check, const char *content,
                                           size_t len, struct sbuf *errors_r,
                                           struct sbuf *warnings_r, const char **error_r);

/*
 * After a change inside its transaction: compile the mailbox's active script
 * as delivery will run it (every include present, read through check->conn,
 * so the change counts). check->mode and check->name are ignored. OK when
 * there is none, it is `except` (checked already) or it compiles; INVALID
 * with its errors and its name in *active_r (xmalloc'd); TEMPFAIL when the
 * scripts cannot be read.
 */
enum sieve_check_result sieve_check_active(const struct sieve_check *check, const char *except,
                                           char **active_r, struct sbuf *errors_r,
                                           const char **error_r);

#endif
