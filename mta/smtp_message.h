/*
 * smtp_message.h: turning sluice-smtpd's transaction into a queue file: the
 * envelope and final recipients (mta/queue_file.h), the Received: field,
 * the commit that must succeed before the client hears 250, and the log
 * lines that carry the queue id.
 */
#ifndef SLUICE_SMTP_MESSAGE_H
#define SLUICE_SMTP_MESSAGE_H

#include <stddef.h>

struct smtp_session;

/*
 * Open the queue file for the transaction (sess->writer): envelope,
 * recipients and the Received: field. 0, or -1 after replying 451/452.
 */
int smtp_message_begin(struct smtp_session *sess);
/* Append content; on failure the reply for the end of data is in *reply_r. */
int smtp_message_write(struct smtp_session *sess, const void *data, size_t len,
                       const char **reply_r);
/* Make it durable and reply "250 2.0.0 Ok: queued as ID", or 451/452 when that failed. */
void smtp_message_commit(struct smtp_session *sess, const char *message_id);
/* The reply for a queue write that failed (errno as the failing call left it). */
const char *smtp_message_failure_reply(int err, const char *error);

#endif
