/*
 * bounce_dsn.h: delivery status notifications (RFC 3464) about a queued
 * message: failure (a bounce), delay and success reports, composed as a
 * multipart/report with a text part, a message/delivery-status part and
 * the original message's header (or, for RET=FULL, the whole message up to
 * a size limit), and queued as a new message from the null sender with
 * origin "bounce" (or "double-bounce" for the postmaster's copy of a bounce
 * that could not be delivered).
 */
#ifndef SLUICE_BOUNCE_DSN_H
#define SLUICE_BOUNCE_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue_file.h"
#include "queue_msg.h"

enum bounce_kind {
	BOUNCE_FAILURE, /* Action: failed */
	BOUNCE_DELAY,   /* Action: delayed */
	BOUNCE_SUCCESS, /* Action: delivered */
};

/* One recipient the report is about. */
struct bounce_rcpt {
	size_t index;           /* in msg->rcpts */
	const char *status;     /* DSN code, "5.1.1" */
	const char *diagnostic; /* the server's reply or our reason, one line; NULL: none */
	int64_t last_attempt;   /* Unix seconds; 0: none */
};

struct bounce_settings {
	const char *queue_dir;
	const char *hostname; /* Reporting-MTA, From: MAILER-DAEMON@hostname */
	uint64_t size_limit;  /* RET=FULL returns the whole message only up to this */
};

/* Where the report goes, already resolved (alias expansion done): one or more addresses. */
struct bounce_to {
	const char *address;
	bool local;
	const char *given; /* the address before expansion, NULL when the same */
};

/*
 * Queue a report about msg's recipients rcpts[0..n) to to[0..nto) (the
 * original sender, expanded). will_retry_until
 * (Unix s) is used by delay reports. origin: "bounce", or "double-bounce" for
 * a report to the postmaster. The new message's id goes into new_id
 * (QUEUE_ID_BUFSZ). Returns 0 once the report is durably queued.
 */
int bounce_dsn_queue(const struct bounce_settings *set, struct queue_msg *msg,
                     enum bounce_kind kind, const struct bounce_rcpt *rcpts, size_t n,
                     const struct bounce_to *to, size_t nto, const char *origin,
                     int64_t will_retry_until, char *new_id, const char **error_r);

/* RFC 5322 3.3 date-time of t (UTC) into out (at least 40 bytes). */
void bounce_rfc5322_date(int64_t t, char *out, size_t outsz);

#endif
