/*
 * quota.h: the quota rules, in one place for sluice-lmtpd, sluice-imapd and
 * sluice-admin: whether a message fits a mailbox's bytes and messages and
 * its domain's bytes, the usage percentage, which warning threshold a change
 * crosses, and the warning message the user gets.
 *
 * Limits and usage come from the database (domains, mailboxes, quota_usage);
 * 0 as a limit means none. The store enforces the same rules again inside
 * its transaction (schema 0002), so a check here is an early answer, not the
 * last word. Pure functions: no I/O, thread-safe.
 */
#ifndef SLUICE_QUOTA_H
#define SLUICE_QUOTA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util.h"

/* Thresholds quota_warning_thresholds may list at most. */
#define QUOTA_MAX_THRESHOLDS 8

struct quota_state {
	int64_t limit_bytes, limit_messages, domain_limit_bytes; /* 0: none */
	int64_t used_bytes, used_messages, domain_used_bytes;
};

enum quota_verdict {
	QUOTA_FITS,
	QUOTA_OVER_MAILBOX, /* bytes or messages of the mailbox */
	QUOTA_OVER_DOMAIN,  /* bytes of the domain */
};

/*
 * Would `bytes` more bytes in `messages` more messages fit? bytes 0 and
 * messages 0 asks whether the mailbox is already full (an LMTP RCPT before
 * the size is known): full means usage at or above a limit.
 */
enum quota_verdict quota_check(const struct quota_state *q, int64_t bytes, int64_t messages);

/* Usage in whole percent (rounded down) of the fuller of bytes and messages; 0 without limits. */
int quota_percent(const struct quota_state *q);

/* Parse "85 95": ascending, 1..100, at most QUOTA_MAX_THRESHOLDS. */
int quota_thresholds_parse(const char *spec, int *thresholds, size_t *n_r, const char **error_r);

/*
 * The threshold a change crosses: the highest of thresholds at or below
 * percent and above warned_percent (the highest one already announced), or
 * 0 when none is newly crossed.
 */
int quota_warning_due(const int *thresholds, size_t n, int warned_percent, int percent);

/*
 * The warning message (RFC 5322, CRLF line ends) telling address that its
 * mailbox is `threshold` percent full, from `from`, dated now.
 */
void quota_warning_message(const char *from, const char *address, int threshold,
                           const struct quota_state *q, time_t now, const char *hostname,
                           struct sbuf *out);

#endif
