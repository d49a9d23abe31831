/*
 * admin.h: what the files of sluice-admin share: the run context (options,
 * configuration, the one database connection), the command table, error
 * reporting with sysexits.h codes, and the input helpers (option parsing
 * shared by the commands, the --yes confirmation, names, sizes, files,
 * passwords).
 *
 * Exit codes (sysexits.h), one meaning each:
 *   EX_USAGE (64)     bad syntax, unknown command or option, a missing --yes
 *   EX_DATAERR (65)   an invalid name or value, an alias loop, a limit below usage
 *   EX_NOUSER (67)    the named domain, mailbox, alias or destination does not exist
 *   EX_SOFTWARE (70)  a bug, or a database error nobody expected
 *   EX_IOERR (74)     reading the password failed
 *   EX_CANTCREAT (73) it already exists, or a domain limit leaves no room for it
 *   EX_TEMPFAIL (75)  the database is unavailable (try again later)
 *   EX_NOPERM (77)    the database role may not do this
 *   EX_CONFIG (78)    a bad sluice.conf, or a database schema that is missing or too old
 */
#ifndef SLUICE_ADMIN_H
#define SLUICE_ADMIN_H

#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <sysexits.h>

#include "addr.h"

struct config;
struct db_pool;
struct db_conn;
struct admin_cmd;

struct admin_ctx {
	const char *progname;        /* "sluice-admin" */
	const char *conf_path;       /* -c, or NULL: $SLUICE_CONF, else the default */
	int json;                    /* --json */
	int verbose;                 /* -v: library log lines at debug level */
	const char *conninfo;        /* overrides admin_db_url (db migrate's owner URL) */
	const struct admin_cmd *cmd; /* the command being run */
	struct config *cfg;          /* loaded by admin_config() */
	struct db_pool *pool;        /* created by admin_conn() */
	struct db_conn *conn;        /* the one connection, borrowed by admin_conn() */
	int in_txn;                  /* between admin_begin() and admin_commit() */
	char *actor;                 /* the Unix user, for the audit log */
};

/* One command: "domain add", or a group alone ("config show" has group "config"). */
struct admin_cmd {
	const char *group;
	const char *verb;
	int (*run)(struct admin_ctx *ctx, int argc, char **argv);
	const char *args;    /* synopsis after "sluice-admin GROUP VERB" */
	const char *summary; /* one line for the command list */
	const char *help;    /* the options and what the command does */
};

/* Each command file's table, ended by an entry with group NULL. */
extern const struct admin_cmd admin_domain_cmds[];
extern const struct admin_cmd admin_mailbox_cmds[];
extern const struct admin_cmd admin_alias_cmds[];
extern const struct admin_cmd admin_alias_domain_cmds[];
extern const struct admin_cmd admin_quota_cmds[];
extern const struct admin_cmd admin_db_cmds[];
extern const struct admin_cmd admin_config_cmds[];
extern const struct admin_cmd admin_store_cmds[];
extern const struct admin_cmd admin_sieve_cmds[];
extern const struct admin_cmd admin_vacation_cmds[];

/* admin_mailbox_list.c: `mailbox list` and `mailbox show`, in admin_mailbox_cmds. */
int admin_mailbox_list(struct admin_ctx *ctx, int argc, char **argv);
int admin_mailbox_show(struct admin_ctx *ctx, int argc, char **argv);

/* admin_alias_list.c: `alias list` and `alias show`, in admin_alias_cmds. */
int admin_alias_list(struct admin_ctx *ctx, int argc, char **argv);
int admin_alias_show(struct admin_ctx *ctx, int argc, char **argv);

/* Print "sluice-admin: error: ..." on one line to stderr; returns status. */
int admin_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "sluice-admin: note: ..." on one line to stderr. */
void admin_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* vprintf into a new heap string (lib/util.h has only xasprintf). */
char *admin_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* "database unavailable, try again later: <why>"; returns EX_TEMPFAIL. */
int admin_unavailable(const char *why);

/* --- admin_main.c: options every command takes, configuration, the connection --- */

/* Long options every command accepts; put them at the end of its struct option array. */
enum { ADMIN_OPT_JSON = 0x1000, ADMIN_OPT_CONFIG = 'c', ADMIN_OPT_VERBOSE = 'v' };
/* clang-format off */
#define ADMIN_COMMON_OPTIONS                                                                       \
	{"json", no_argument, NULL, ADMIN_OPT_JSON},                                               \
	{"config", required_argument, NULL, ADMIN_OPT_CONFIG},                                     \
	{"verbose", no_argument, NULL, ADMIN_OPT_VERBOSE},                                         \
	{NULL, 0, NULL, 0}
/* clang-format on */
/* Short options every command accepts: put at the start of its optstring. */
#define ADMIN_COMMON_SHORTOPTS ":c:v"

/*
 * Next option of a command, getopt_long style: the option's key, or -1 at
 * the end of options. Common options are handled here; a bad option prints
 * the error and returns '?', and the caller returns EX_USAGE.
 */
int admin_getopt(struct admin_ctx *ctx, int argc, char **argv, const char *shortopts,
                 const struct option *longopts);
/* Check the count of positional arguments left after options (max < 0: any). */
int admin_nargs(struct admin_ctx *ctx, int argc, int min, int max);
/* After the option loop: drop the options from argc and argv, then admin_nargs(). */
int admin_operands(struct admin_ctx *ctx, int *argc, char ***argv, int min, int max);
/* A command with no option of its own: the common options, then admin_operands(). */
int admin_no_options(struct admin_ctx *ctx, int *argc, char ***argv, int min, int max);
/*
 * A command whose one option is a flag: --long_name (and -short_name unless
 * it is 0) sets *flag to 1; then admin_operands().
 */
int admin_flag_option(struct admin_ctx *ctx, int *argc, char ***argv, const char *long_name,
                      char short_name, int *flag, int min, int max);
/* Keys of the options list commands share; each command names those it takes in its longopts. */
enum { ADMIN_OPT_DOMAIN = 0x1001, ADMIN_OPT_DESTINATION, ADMIN_OPT_LIMIT };
/* clang-format off */
#define ADMIN_OPTION_DOMAIN {"domain", required_argument, NULL, ADMIN_OPT_DOMAIN}
#define ADMIN_OPTION_DESTINATION {"destination", required_argument, NULL, ADMIN_OPT_DESTINATION}
#define ADMIN_OPTION_LIMIT {"limit", required_argument, NULL, ADMIN_OPT_LIMIT}
/* clang-format on */
struct admin_list_opts {
	const char *domain;      /* --domain, or NULL */
	const char *destination; /* --destination, or NULL */
	int64_t limit;           /* --limit, 0 when not given */
};
/* The options of a list command (those its longopts has); admin_operands() follows. */
int admin_list_options(struct admin_ctx *ctx, int argc, char **argv, const struct option *longopts,
                       struct admin_list_opts *o);
/* "[MAILBOX | --domain DOMAIN]": admin_operands() for 0 or 1, and not both. */
int admin_mailbox_or_domain(struct admin_ctx *ctx, int *argc, char ***argv, const char *domain_arg);
/* A usage error naming the command: "domain add: <msg> (see --help)". */
int admin_usage(struct admin_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * A deletion asks for --yes: 0 with yes, else EX_USAGE after "not deleted:
 * <what fmt says>; run again with --yes to delete it".
 */
int admin_confirm(int yes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The configuration, loaded on first use (status returned on failure). */
int admin_config(struct admin_ctx *ctx);
/* The database connection, opened on first use (status returned on failure). */
int admin_conn(struct admin_ctx *ctx);

/* --- admin_input.c: names and values given on the command line --- */

/* A domain name, normalized to lower-case A-labels into out (ADDR_DOMAIN_BUFSZ). */
int admin_parse_domain(const char *text, char *out);
/* An address; allow_catchall accepts "@domain". EX_DATAERR on failure. */
int admin_parse_address(const char *text, int allow_catchall, struct mail_address *addr);
/* A size such as 1G, 500M or 0 (unlimited) into bytes. EX_DATAERR on failure. */
int admin_parse_size(const char *option, const char *text, int64_t *bytes_r);
/* A non-negative integer (within int32 when small). EX_DATAERR on failure. */
int admin_parse_count(const char *option, const char *text, int small, int64_t *value_r);
/* yes/no. EX_DATAERR on failure. */
int admin_parse_bool(const char *option, const char *text, int *value_r);
/* Free text such as a description or a display name: at most max bytes, no control characters. */
int admin_check_text(const char *option, const char *text, size_t max);
/* An integer as a statement parameter; buf has ADMIN_I64_BUFSZ bytes. */
#define ADMIN_I64_BUFSZ 24
const char *admin_i64(char *buf, int64_t value);
/* Format bytes for people: "1G", "1536M", "12345", "unlimited" when 0 and unlimited_zero. */
void admin_format_size(int64_t bytes, int unlimited_zero, char *out, size_t outsz);

struct sbuf;

enum admin_read {
	ADMIN_READ_OK,
	ADMIN_READ_OPEN,    /* cannot open it: errno says why */
	ADMIN_READ_TOO_BIG, /* more than max bytes */
	ADMIN_READ_ERROR,   /* a read error */
};
/* Append the file at path ("-": standard input), at most max bytes, then a NUL (not counted). */
enum admin_read admin_read_file(const char *path, size_t max, struct sbuf *out);

/*
 * Read the new password of address: from stdin (one line) when from_stdin,
 * else from the terminal, twice, without echo; never from the command line.
 * *plain_r is freed with admin_password_free().
 */
int admin_read_password(int from_stdin, const char *address, char **plain_r);
/* Wipe and free a password read by admin_read_password(). */
void admin_password_free(char **plain);
/* Hash a password with lib/password.c's argon2id (after password_init). */
int admin_hash_password(struct admin_ctx *ctx, const char *plain, char **hash_r);

#endif
