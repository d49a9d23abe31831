/*
 * smtp_data.h: the message content of sluice-smtpd: DATA (RFC 5321 4.1.1.4,
 * with the SMTP smuggling defences) and BDAT (RFC 3030 CHUNKING).
 */
#ifndef SLUICE_SMTP_DATA_H
#define SLUICE_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>

struct smtp_session;

void smtp_cmd_data(struct smtp_session *sess, const char *args, size_t len);
void smtp_cmd_bdat(struct smtp_session *sess, const char *args, size_t len);

#endif
