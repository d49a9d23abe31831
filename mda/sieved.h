/*
 * sieved.h: what the files of sluice-sieved, the ManageSieve server (RFC
 * 5804), share: the daemon's settings and process-wide objects (built by
 * sieved_main.c, read-only afterwards), one session's state
 * (sieved_session.c runs the dialogue), the command table and the commands
 * (sieved_commands.c: the script commands; sieved_session.c: the session
 * commands), and the response writers.
 */
#ifndef SLUICE_SIEVED_H
#define SLUICE_SIEVED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sieve_settings.h"
#include "sieved_parser.h"
#include "util.h"

struct db_pool;
struct db_conn;
struct iostream;
struct sasl_session;
struct server;
struct server_conn;
struct tls_holder;

/* When AUTHENTICATE may be used without TLS. */
enum sieved_plaintext_auth {
	SIEVED_PLAINTEXT_NEVER,
	SIEVED_PLAINTEXT_LOOPBACK, /* only from 127.0.0.0/8 and ::1 */
	SIEVED_PLAINTEXT_ALWAYS,
};

struct sieved_settings {
	enum sieved_plaintext_auth plaintext_auth;
	const char *auth_socket;
	int64_t auth_timeout_ms;
	int64_t session_timeout_ms;     /* a whole session's deadline; 0: none */
	unsigned int max_scripts;       /* per mailbox; 0: no limit */
	unsigned int max_name_chars;    /* script name length */
	size_t max_script_size;         /* sieve_max_script_size */
	size_t max_line;                /* a command line, literals excluded */
	unsigned int max_errors;        /* bad commands before BYE */
	unsigned int max_auth_failures; /* failed AUTHENTICATEs before BYE */
	unsigned int max_redirects;     /* MAXREDIRECTS */
	const char *implementation;     /* IMPLEMENTATION */
};

/* The daemon: everything sessions share, never written after start-up. */
struct sieved {
	struct sieved_settings set;
	struct sieve_settings sieve; /* compiler options, global folder */
	char *sieve_capability;      /* the SIEVE capability: the compiler's extensions */
	bool notify_mailto;          /* enotify enabled: NOTIFY "mailto" */
	struct db_pool *pool;
	struct tls_holder *tls; /* NULL: no STARTTLS */
	struct server *server;
};

/* One connection. */
struct sieved_session {
	struct sieved *d;
	struct server_conn *conn;
	struct iostream *s;
	struct sieved_parser *parser;
	struct sasl_session *sasl;
	bool tls;
	char *user;         /* the canonical login, once authenticated */
	int64_t mailbox_id; /* its mailbox */
	unsigned int errors;
	unsigned int auth_failures;
	bool quit;       /* LOGOUT, BYE or a broken stream: end the session */
	struct sbuf out; /* a response being built */
};

/* Command flags: which state a command may run in. */
enum {
	SIEVED_CMD_ANY = 0,
	SIEVED_CMD_NOAUTH = 1 << 0, /* only before AUTHENTICATE */
	SIEVED_CMD_AUTH = 1 << 1,   /* only after it */
};

struct sieved_cmd {
	const char *name;
	void (*run)(struct sieved_session *ss, const struct sieved_command *cmd);
	unsigned int flags;
	unsigned int min_args, max_args; /* arguments after the name */
};

/* The command table (sieved_commands.c), ended by a NULL name. */
extern const struct sieved_cmd sieved_commands[];

/* sieved_session.c: the connection handler (server_handler_fn). */
void sieved_session_run(struct server_conn *conn);

/* sieved_session.c: the session commands. */
void sieved_cmd_capability(struct sieved_session *ss, const struct sieved_command *cmd);
void sieved_cmd_starttls(struct sieved_session *ss, const struct sieved_command *cmd);
void sieved_cmd_authenticate(struct sieved_session *ss, const struct sieved_command *cmd);
void sieved_cmd_unauthenticate(struct sieved_session *ss, const struct sieved_command *cmd);
void sieved_cmd_logout(struct sieved_session *ss, const struct sieved_command *cmd);
void sieved_cmd_noop(struct sieved_session *ss, const struct sieved_command *cmd);

/*
 * Send a response line: "OK", "NO" or "BYE", a response code (NULL: none;
 * given as it goes inside the parentheses, e.g. "NONEXISTENT" or
 * "QUOTA/MAXSIZE"), and a human-readable text (NULL: none). A text with line
 * ends goes as a literal. Write failures end the session.
 */
void sieved_reply(struct sieved_session *ss, const char *status, const char *code,
                  const char *text);
/* The same with a text of len bytes. */
void sieved_reply_len(struct sieved_session *ss, const char *status, const char *code,
                      const char *text, size_t len);
/* NO (TRYLATER) for a database that failed, with the reason logged. */
void sieved_reply_trylater(struct sieved_session *ss, const char *what, const char *error);
/* Write raw protocol text (already formatted) to the client. */
void sieved_write(struct sieved_session *ss, const char *data, size_t len);

/* Borrow a database connection; NULL after answering NO (TRYLATER). */
struct db_conn *sieved_db(struct sieved_session *ss);

#endif
