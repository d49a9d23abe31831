/*
 * imapd.h: what the files of sluice-imapd share: the daemon's settings and
 * process-wide objects (imap_main.c), the session of one connection
 * (imap_session.c runs the dialogue; imap_cmd_*.c implement the commands),
 * and the response helpers (imap_output.c). Parsing lives in
 * imap_parser.h, the selected mailbox in imap_view.h, change notification
 * in imap_notify.h.
 */
#ifndef SLUICE_IMAPD_H
#define SLUICE_IMAPD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "imap_parser.h"
#include "imap_seqset.h"
#include "server.h"
#include "store.h"
#include "util.h"

struct db_pool;
struct imap_compress;
struct imap_notify;
struct imap_view_cache;
struct imap_notify_sub;
struct imap_view;
struct iostream;
struct sasl_session;
struct store_msg;
struct tls_holder;

/* Deadline for each write to a client (one that does not read is dropped). */
#define IMAPD_WRITE_TIMEOUT_MS (5 * 60 * 1000)

struct imapd_settings {
	char hostname[256];
	bool plaintext_auth;       /* LOGIN / AUTHENTICATE without TLS from any client */
	size_t max_line;           /* imapd_max_line_length */
	size_t max_command;        /* imapd_max_command_size */
	int64_t max_message_size;  /* APPENDLIMIT */
	unsigned int max_bad_commands;
	unsigned int max_per_user;
	int64_t idle_timeout_ms;   /* authenticated clients, and IDLE */
	int64_t login_timeout_ms;  /* before login */
	int64_t idle_keepalive_ms; /* "* OK Still here" during IDLE */
	int64_t auth_timeout_ms;
	const char *auth_socket;
};

/* The daemon: settings and objects shared by every session. */
struct imapd {
	struct imapd_settings set;
	struct store *store;
	struct db_pool *pool;
	struct server *server;
	struct tls_holder *tls; /* NULL when no certificate is configured */
	struct imap_notify *notify;
	struct imap_view_cache *view_cache; /* folder loads shared by the sessions */
	/* logged-in sessions per mailbox, for imapd_max_per_user */
	pthread_mutex_t users_lock;
	struct imapd_user_count *users;
};

enum imap_state {
	IMAP_STATE_NOT_AUTH = 1 << 0,
	IMAP_STATE_AUTH = 1 << 1,
	IMAP_STATE_SELECTED = 1 << 2,
	IMAP_STATE_LOGOUT = 1 << 3,
};

/* What ENABLE (RFC 5161) or SELECT (CONDSTORE) switched on. */
enum imap_enabled {
	IMAP_ENABLED_CONDSTORE = 1 << 0, /* RFC 7162 */
	IMAP_ENABLED_QRESYNC = 1 << 1,   /* RFC 7162 */
	IMAP_ENABLED_UTF8 = 1 << 2,      /* RFC 6855 UTF8=ACCEPT */
	IMAP_ENABLED_REV2 = 1 << 3,      /* RFC 9051 */
};

/* A message read from an APPEND literal (imap_session.c streams it). */
struct imap_append_msg {
	struct store_msg *msg; /* finished, or NULL when writing it failed */
	int status;            /* STORE_OK, or why it could not be stored */
	bool literal8;
	bool has_nul;
};

struct imap_session {
	struct imapd *d;
	struct server_conn *conn;
	struct iostream *s;     /* the connection, or the inside of COMPRESS */
	struct imap_compress *compress;
	bool tls_under_compress; /* the connection under COMPRESS is TLS */
	struct imap_parser *parser;
	enum imap_state state;
	unsigned int enabled; /* enum imap_enabled */
	const char *tag;      /* the command being run */
	bool uid;             /* it came after UID */
	unsigned int bad_commands;
	/* the tagged reply, written after the untagged updates */
	struct sbuf tagged;
	/* APPEND literals of the command being read */
	struct imap_append_msg *appends;
	size_t nappends, appends_cap;
	uint64_t append_bytes;
	bool append_toobig;
	/* once logged in */
	struct sasl_session *sasl;
	char user[ADDR_BUFSZ];
	struct store_mailbox mailbox;
	bool counted; /* in imapd's per-user count */
	struct imap_notify_sub *sub;
	/* the folder of the last message read (imap_message.c), "" when none is open */
	char blob_dir[32];
	int blob_dirfd;
	struct imap_view *view; /* the selected mailbox, NULL in other states */
	/* SEARCHRES (RFC 5182): the saved result, as UIDs */
	struct imap_seqset saved;
	bool saved_valid;
};

/* Serve one connection (server_handler_fn). */
void imap_session_run(struct server_conn *conn);
/* Refuse a connection over a cap (server_refuse_fn). */
void imap_session_refuse(struct server_conn *conn, enum server_refusal why);

/* --- imap_output.c: responses --- */

/* Buffer bytes for the client. */
void imap_write(struct imap_session *sess, const void *data, size_t len);
/* "* " text CRLF. */
void imap_untagged(struct imap_session *sess, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The tagged reply ("OK ...", "NO ...", "BAD ..."), sent after the command's updates. */
void imap_tagged(struct imap_session *sess, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A store failure as a tagged NO with its response code (RFC 5530), logged. */
void imap_tagged_store_error(struct imap_session *sess, int status, const char *error);
/* Append s as a quoted string when it can be one, else as a literal. */
void imap_append_string(struct sbuf *out, const char *s, size_t len);
/* Append s as an astring: an atom when it is one, else a string. */
void imap_append_astring(struct sbuf *out, const char *s, size_t len);
/* Append a folder name (UTF-8) in the session's encoding (mUTF-7 unless UTF-8 is on). */
void imap_append_mailbox(const struct imap_session *sess, struct sbuf *out, const char *name);
/* Append the capability list (without "CAPABILITY"). */
void imap_capabilities(const struct imap_session *sess, struct sbuf *out);
/* RFC 3501 9 date-time: "dd-Mon-yyyy hh:mm:ss +0000" (UTC) into buf, without quotes. */
#define IMAP_DATETIME_BUFSZ 32
void imap_format_datetime(int64_t epoch, char *buf);
/* Whether the connection is TLS (under COMPRESS too). */
bool imap_is_tls(const struct imap_session *sess);
/* Whether names are UTF-8 on the wire (UTF8=ACCEPT or IMAP4rev2 enabled). */
bool imap_utf8_names(const struct imap_session *sess);

/*
 * A client's mailbox name as a store folder name (UTF-8, "INBOX" for any
 * case of it): decodes modified UTF-7 unless UTF-8 is on, and refuses
 * invalid encodings, empty levels, "." and ".." levels, control characters
 * and wildcards. Writes into buf (STORE_FOLDER_NAME_MAX + 1); -1 with
 * *error_r when the name is not acceptable.
 */
int imap_mailbox_name(const struct imap_session *sess, const struct imap_arg *arg, char *buf,
		      const char **error_r);

/* --- imap_session.c: helpers for commands --- */

/*
 * Read one line of a command's continuation (AUTHENTICATE, IDLE's DONE):
 * 0 with the line (valid until the next read), -1 when the client is gone
 * or timed out (the session ends), -2 for a line over imapd_max_line_length
 * (thrown away).
 */
int imap_read_continuation(struct imap_session *sess, const char **line_r, size_t *len_r);
/* Count a bad command; the session ends past imapd_max_bad_commands. */
void imap_count_bad(struct imap_session *sess);

/* --- imap_cmd_auth.c --- */

/* Count a login of mailbox_id; false when the user is at imapd_max_per_user. */
bool imapd_user_login(struct imapd *d, int64_t mailbox_id);
void imapd_user_logout(struct imapd *d, int64_t mailbox_id);
/* Undo what a login set up (the count, the notification, the selected mailbox). */
void imap_login_end(struct imap_session *sess);

#endif
