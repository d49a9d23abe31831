/*
 * smtp_commands.h: sluice-smtpd's command table and the verbs that have no
 * file of their own (EHLO, HELO, STARTTLS, MAIL, RCPT, RSET, NOOP, VRFY,
 * EXPN, HELP, QUIT). DATA and BDAT are in smtp_data.c, AUTH in smtp_sasl.c.
 */
#ifndef SLUICE_SMTP_COMMANDS_H
#define SLUICE_SMTP_COMMANDS_H

#include <stddef.h>

struct smtp_session;

/* A verb's handler: args is the argument after the verb (not NUL-terminated). */
typedef void smtp_cmd_fn(struct smtp_session *sess, const char *args, size_t len);

/* Run one command line (without its line end) through the table's checks. */
void smtp_command_run(struct smtp_session *sess, const char *line, size_t len);
/* The verb of the last command, for "lost connection after RCPT". */
const char *smtp_commands_last(const struct smtp_session *sess);
/* Log Postfix's "disconnect from name[ip] ehlo=1 mail=1 ... commands=N" line. */
void smtp_commands_log_disconnect(const struct smtp_session *sess);

#endif
