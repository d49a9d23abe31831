/*
 * smtp_sasl.h: SMTP AUTH (RFC 4954) in sluice-smtpd, with PLAIN and LOGIN
 * through Cyrus SASL (lib/sasl_server.h): every password is checked by
 * sluice-authd, so smtpd reads no password database.
 */
#ifndef SLUICE_SMTP_SASL_H
#define SLUICE_SMTP_SASL_H

#include <stddef.h>

struct smtp_session;
struct sasl_session;

/* Once at start-up, before threads. */
int smtp_sasl_init(const char **error_r);
/* The mechanisms EHLO lists: "PLAIN LOGIN". */
const char *smtp_sasl_mechanisms(void);
/* The AUTH command (the whole exchange). */
void smtp_cmd_auth(struct smtp_session *sess, const char *args, size_t len);
/* Free a session's SASL state; accepts NULL. */
void smtp_sasl_free(struct sasl_session **sasl);

#endif
