/*
 * smtp_policy.h: every access decision of sluice-smtpd, in one place: which
 * clients are trusted (trusted_networks), the per-IP connection rate, where
 * AUTH is offered, who must authenticate, who may relay, which envelope
 * senders an authenticated user may use, and what a recipient address gets
 * at RCPT time (the address classes of lib/recipient.h turned into replies).
 */
#ifndef SLUICE_SMTP_POLICY_H
#define SLUICE_SMTP_POLICY_H

#include "addr.h"
#include "smtp_parser.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct smtp_session;

/* A list of IPv4/IPv6 networks ("127.0.0.0/8 ::1/128 192.0.2.7"). */
struct smtp_networks;
int smtp_networks_parse(const char *spec, struct smtp_networks **nets_r, const char **error_r);
bool smtp_networks_match(const struct smtp_networks *nets, const struct sockaddr_storage *addr);
void smtp_networks_free(struct smtp_networks **nets);

/* Connections per client (IPv4 address, IPv6 /64) and minute. Thread-safe. */
struct smtp_ratelimit;
struct smtp_ratelimit *smtp_ratelimit_create(void);
/* Count a connection; false when the client is over per_minute (0: never). */
bool smtp_ratelimit_allow(struct smtp_ratelimit *rl, const struct sockaddr_storage *addr,
                          unsigned int per_minute, int64_t now_ms);
void smtp_ratelimit_destroy(struct smtp_ratelimit **rl);

/* Whether EHLO lists AUTH now (submission ports, after TLS or trusted if allowed). */
bool smtp_policy_auth_offered(const struct smtp_session *sess);
/* NULL when AUTH may start now, else the reply refusing it. */
const char *smtp_policy_auth_refusal(const struct smtp_session *sess);
/* Whether EHLO lists STARTTLS now. */
bool smtp_policy_starttls_offered(const struct smtp_session *sess);
/* NULL when MAIL may start a transaction, else the reply refusing it. */
const char *smtp_policy_mail_refusal(const struct smtp_session *sess);
/*
 * Whether the authenticated user may use sender (submission). 0 with
 * *allowed_r, or -1 when the database failed (the caller says 451 4.3.0).
 */
int smtp_policy_sender(struct smtp_session *sess, const struct mail_address *sender,
                       bool *allowed_r);
/*
 * Decide on a recipient: look it up, reply (250 or the refusal) and, when
 * accepted, add its final destinations to the transaction. Returns true when
 * accepted.
 */
bool smtp_policy_rcpt(struct smtp_session *sess, const struct mail_address *rcpt,
                      const struct smtp_rcpt_params *params);

#endif
