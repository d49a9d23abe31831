/*
 * lmtp_client.h: the LMTP client (RFC 2033) sluice-qmgr delivers local
 * recipients with, over the UNIX socket of sluice-lmtpd.
 *
 * One client is one connection, owned by one delivery thread and reused for
 * many messages: one LHLO per connection, then MAIL / RCPT... / DATA (or
 * BDAT for BINARYMIME) per message, pipelined when the server offers
 * PIPELINING (RFC 2920), and one reply per accepted recipient after the
 * data (RFC 2033 4.2). Every read and write has a deadline. A connection
 * that fails in any way is closed; the transaction's recipients without a
 * reply of their own are then all deferred by the caller, never bounced.
 */
#ifndef SLUICE_LMTP_CLIENT_H
#define SLUICE_LMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "queue_file.h"

/* Longest reply line read from the server; longer ones are cut. */
#define LMTP_REPLY_LINE_MAX 2048
/* Most lines of one reply kept (the rest are read and dropped). */
#define LMTP_REPLY_LINES_MAX 20

struct lmtp_client_settings {
	const char *socket_path;
	const char *lhlo_name;  /* our host name, for LHLO */
	int connect_timeout_ms; /* connect and greeting */
	int timeout_ms;         /* each command's reply, each write */
	int data_timeout_ms;    /* the replies after the end of data */
};

/* The content of a message, read in pieces (queue_msg_read() fits). */
typedef ssize_t lmtp_read_fn(void *context, uint64_t offset, void *buf, size_t len,
                             const char **error_r);

struct lmtp_txn {
	const char *queue_id; /* sent as XFORWARD IDENT= when the server offers it; or NULL */
	const char *sender;   /* "" for the null sender */
	enum queue_body body;
	bool smtputf8;
	const char *const *rcpts; /* final addresses */
	size_t rcpt_count;
	uint64_t size;
	lmtp_read_fn *read;
	void *read_context;
};

/* The server's answer for one recipient. */
struct lmtp_rcpt_result {
	int code;     /* 250, 451, 550 ...; 0 when the transaction failed before an answer */
	char dsn[10]; /* the enhanced status code given, or one made from the code ("4.0.0") */
	char *text;   /* the reply, lines joined by spaces (heap; NULL when code is 0) */
};

struct lmtp_client;

/* A client; it connects on first use. The settings' strings must outlive it. */
struct lmtp_client *lmtp_client_create(const struct lmtp_client_settings *set);
/* Say QUIT (briefly) if connected, close and free; accepts NULL. */
void lmtp_client_destroy(struct lmtp_client **client);
/* Close the connection (after QUIT when quit is true); the next delivery reconnects. */
void lmtp_client_disconnect(struct lmtp_client *client, bool quit);
bool lmtp_client_connected(const struct lmtp_client *client);
/* Transactions run on the current connection. */
unsigned int lmtp_client_transactions(const struct lmtp_client *client);

/*
 * Deliver one message: connect (and LHLO) when not connected, run the
 * transaction, and fill results[i] for txn->rcpts[i] (the caller zeroes the
 * array and frees each text with lmtp_rcpt_results_free()). Returns 0 when
 * the server gave each recipient an answer (2xx, 4xx or 5xx); -1 with
 * *error_r when the connection failed or the server broke the protocol
 * during the transaction, -2 when no connection could be made (connect,
 * greeting or LHLO failed): then every result is cleared (code 0) and the
 * caller defers all the recipients. A reused connection that the server had closed while idle is
 * reopened once, transparently.
 */
int lmtp_client_deliver(struct lmtp_client *client, const struct lmtp_txn *txn,
                        struct lmtp_rcpt_result *results, const char **error_r);
void lmtp_rcpt_results_free(struct lmtp_rcpt_result *results, size_t count);

#endif
