/*
 * lmtpd_sieve.h: delivery through Sieve in sluice-lmtpd.
 *
 * lmtpd_sieve.c runs, per recipient, the global "before" scripts, the
 * mailbox's active script (table sieve_scripts; compiled programs cached by
 * script id and modification time, and compiled again when a global script
 * they include changes), the global "after" scripts, then the
 * vacation script of `sluice-admin vacation` as a run of its own, and turns
 * the result into an outcome: folders with flags for the store, or a
 * rejection, or a temporary failure. Mail Sieve makes (redirects, vacation
 * replies, reject notices, notifications) goes to sluice-smtpd's injection
 * socket through lmtpd_send() (lmtpd_send.c). Vacation and duplicate state
 * live in the database (schema/0006_sieve_state.sql).
 */
#ifndef SLUICE_LMTPD_SIEVE_H
#define SLUICE_LMTPD_SIEVE_H

#include <stdbool.h>
#include <stddef.h>

#include "lmtpd.h"
#include "sieve.h"

struct config;
struct sieve_settings;

/*
 * Read the sieve_* settings and smtpd_inject_socket, and compile the global
 * before/after scripts (a script that does not compile is logged and left
 * out). Call once before any session runs.
 */
int lmtpd_sieve_init(const struct config *cfg, const char **error_r);
/* SIGHUP (main thread): read and compile every global before/after script again now, and
   the users' scripts that include global ones when they next run. */
void lmtpd_sieve_reload(void);

enum lmtpd_sieve_reply {
	LMTPD_SIEVE_STORE,    /* store as decision says (no entry: discarded or rejected) */
	LMTPD_SIEVE_EREJECT,  /* answer 550 5.7.1 with reason */
	LMTPD_SIEVE_TEMPFAIL, /* answer 451 4.3.0: the database or the injection socket failed */
};

struct lmtpd_sieve_outcome {
	struct lmtpd_decision decision;
	enum lmtpd_sieve_reply reply;
	char reason[512]; /* EREJECT: the text for the reply; TEMPFAIL: for the log */
	bool rejected;    /* reject: a notice went to the sender, nothing is stored */
};

/*
 * Run the scripts for one recipient of a message and carry out what does
 * not store (redirect, reject notice, vacation, notify, duplicate marks).
 * Never fails: a script that cannot run keeps the message in the INBOX with
 * a log line naming the mailbox and the error.
 */
void lmtpd_sieve_decide(struct lmtpd_session *sess, const struct lmtpd_rcpt *rcpt, const char *data,
                        size_t len, struct lmtpd_sieve_outcome *out);

/*
 * Submit a message to the injection socket: envelope from ("" for <>) and
 * recipients, the bytes prefix (NULL or header fields ending in CRLF) then
 * data. 0 when the server accepted it (250 after the final dot).
 */
int lmtpd_send(const char *socket_path, const char *helo, const char *from,
               const char *const *rcpts, size_t nrcpts, const char *prefix, const char *data,
               size_t len, const char **error_r);

/* What the mail Sieve makes for one recipient is written from. */
struct lmtpd_sieve_mail {
	const char *inject_socket;
	const char *hostname; /* EHLO, Message-ID, Reporting-MTA */
	const char *rcpt;     /* the recipient whose script ran */
	const char *domain;   /* its mailbox's domain (postmaster@ for notices) */
	const char *sender;   /* the envelope sender, "" for <> */
	const char *data;     /* the message */
	size_t len;
	size_t body_offset; /* where its body starts */
};

/*
 * A copy of the message to address, envelope sender kept, X-Sluice-Loop
 * added; with the header as editheader left it when edited is not NULL.
 */
int lmtpd_sieve_redirect(const struct lmtpd_sieve_mail *m, const char *address,
                         const struct message_header *edited, const char **error_r);
/* A rejection notice (RFC 5429 2.1, in RFC 3464 form) to the sender, from <>. */
int lmtpd_sieve_reject_notice(const struct lmtpd_sieve_mail *m, const char *reason,
                              const char **error_r);
/* A vacation reply (RFC 5230, RFC 3834: from <>, Auto-Submitted: auto-replied). */
int lmtpd_sieve_vacation(const struct lmtpd_sieve_mail *m, const struct sieve_vacation *v,
                         const char **error_r);
/* A mailto: notification (RFC 5436), from <>, Auto-Submitted: auto-notified. */
int lmtpd_sieve_notify(const struct lmtpd_sieve_mail *m, const struct sieve_notify *n,
                       const char **error_r);

/* --- between lmtpd_sieve.c and lmtpd_sieve_global.c --- */

/* Compile text with opts (and its include loader); NULL with *error_r when it does not. */
struct sieve_program *lmtpd_sieve_compile(const struct sieve_compile_options *opts,
                                          const char *text, size_t len, const char **error_r);

/* The global before/after programs one delivery runs, each held until put back. */
struct lmtpd_sieve_global_prog;
struct lmtpd_sieve_globals {
	const struct sieve_program **before, **after;
	size_t nbefore, nafter;
	struct lmtpd_sieve_global_prog **held;
	size_t nheld;
};

/* How often (milliseconds) a program's global files are looked at for changes. */
#define LMTPD_SIEVE_CHECK_MS 1000

/* Compile the scripts of set->before and set->after (set must stay); once, at start. */
void lmtpd_sieve_global_init(const struct sieve_settings *set);
/* The current programs, after a look for changed files when a second has passed. */
void lmtpd_sieve_globals_get(struct lmtpd_sieve_globals *g);
void lmtpd_sieve_globals_put(struct lmtpd_sieve_globals *g);

/* The files of sieve_global_dir a program included: which file each name found, and its
   identity (device, inode, size, mtime, ctime) when it was read. */
struct lmtpd_sieve_global_deps;
/*
 * A script of sieve_global_dir (include :global): 1 read, 0 missing, -1 error.
 * With deps (not NULL; *deps made when NULL) the file found, or its absence,
 * is added to *deps.
 */
int lmtpd_sieve_global_read(const char *name, struct lmtpd_sieve_global_deps **deps, char **data_r,
                            size_t *len_r, const char **error_r);
/* Whether a file of deps changed, appeared or went since it was read (NULL: false). */
bool lmtpd_sieve_global_changed(const struct lmtpd_sieve_global_deps *deps);
void lmtpd_sieve_global_deps_free(struct lmtpd_sieve_global_deps **deps);
/* SIGHUP: cached user programs that include global scripts are compiled again when next run. */
void lmtpd_sieve_cache_forget_global(void);

#endif
