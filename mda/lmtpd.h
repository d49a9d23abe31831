/*
 * lmtpd.h: what the files of sluice-lmtpd share: the daemon's settings and
 * shared objects (lmtpd_main.c), the session of one LMTP connection
 * (lmtpd_session.c: the RFC 2033 dialogue), and delivery after DATA
 * (lmtpd_deliver.c: loop detection, the per-recipient decision, the store,
 * one reply per recipient, quota warnings).
 */
#ifndef SLUICE_LMTPD_H
#define SLUICE_LMTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "quota.h"
#include "store.h"

struct server;
struct server_conn;
struct iostream;

struct lmtpd_settings {
	char hostname[256];
	unsigned int max_recipients;
	int64_t max_message_size;
	unsigned int max_delivered_to;
	bool quota_tempfail; /* 452 4.2.2 instead of 552 5.2.2 */
	int thresholds[QUOTA_MAX_THRESHOLDS];
	size_t nthresholds;
	const char *warning_from; /* "" : postmaster@<domain> */
	const char *recipient_delimiter;
};

/* The daemon: settings and objects shared by every session (read-only). */
struct lmtpd {
	struct lmtpd_settings set;
	struct store *store;
	struct server *server;
};

/* A recipient accepted at RCPT. */
struct lmtpd_rcpt {
	char address[ADDR_BUFSZ];      /* as given (canonical local part, normalized domain) */
	char detail[ADDR_LOCAL_BUFSZ]; /* the +extension, "" when none */
	struct store_mailbox mailbox;
};

/* One LMTP transaction's envelope and the session around it. */
/* Longest queue id taken from XFORWARD IDENT. */
#define LMTPD_QUEUE_ID_MAX 32

struct lmtpd_session {
	struct lmtpd *d;
	struct server_conn *conn;
	struct iostream *s;
	bool lhlo;
	bool in_mail;
	char sender[ADDR_BUFSZ]; /* "" for the null reverse-path */
	int64_t declared_size;   /* MAIL FROM SIZE=, 0 when not given */
	struct lmtpd_rcpt *rcpts;
	size_t nrcpts, rcpt_cap;
	unsigned int errors;
	unsigned int transactions;
	/* the client's queue id (XFORWARD IDENT), on this transaction's log lines */
	char queue_id[LMTPD_QUEUE_ID_MAX + 1];
};

/* Serve one connection (server_handler_fn). */
void lmtpd_session_run(struct server_conn *conn);

/* Buffer one reply line (CRLF added); flushed when no pipelined input waits. */
void lmtpd_reply(struct lmtpd_session *sess, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * What to do with the message for one recipient: the "deliver into folder F
 * with flags X" decisions, made by the Sieve scripts (lmtpd_sieve.c). A
 * header that editheader changed (RFC 5293) is the whole new header block:
 * that folder gets it followed by the body of the message as received.
 */
#define LMTPD_MAX_FILEINTO 8
struct lmtpd_fileinto {
	char folder[STORE_FOLDER_NAME_MAX + 1];
	bool create;
	unsigned int flags; /* enum store_flag */
	char **keywords;
	size_t nkeywords;
	char *header; /* NULL: the message as received; else CRLF fields and the blank line */
	size_t header_len;
};
struct lmtpd_decision {
	struct lmtpd_fileinto into[LMTPD_MAX_FILEINTO];
	size_t ninto;       /* 0: the message is discarded (still a success) */
	size_t body_offset; /* where the body starts in the message (for an edited header) */
};

void lmtpd_decision_clear(struct lmtpd_decision *decision);

/*
 * After DATA: deliver msg (finished) to every recipient of the transaction
 * and send one reply per recipient, in RCPT order (RFC 2033 4.2).
 * data_status is STORE_OK, or why the message could not be received whole
 * (a full disk): then every recipient gets that failure.
 */
void lmtpd_deliver(struct lmtpd_session *sess, struct store_msg *msg, int data_status,
                   bool too_big);

#endif
