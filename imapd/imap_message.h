/*
 * imap_message.h: reading a stored message for FETCH, SEARCH and SORT: its
 * bytes are the index row's header_prefix followed by the blob's file
 * (lib/store.h). A message is read whole, or only its header, or sent to
 * the client in ranges straight from the file without holding it.
 */
#ifndef SLUICE_IMAP_MESSAGE_H
#define SLUICE_IMAP_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imapd.h"

struct imap_msg_file {
	int fd;
	const char *prefix;
	size_t prefix_len;
	uint64_t size; /* prefix and file, as the index says */
};

/*
 * Open the message of a row of the session's mailbox, whose size (prefix and
 * file) the row gives: STORE_OK, STORE_NOT_FOUND (gone), STORE_IO_ERROR.
 */
int imap_msg_open(struct imap_session *sess, const char *blob, const char *prefix, uint64_t size,
		  struct imap_msg_file *f, const char **error_r);
/* Close the blob folder imap_msg_open() keeps open (at logout). */
void imap_msg_forget_dir(struct imap_session *sess);
void imap_msg_close(struct imap_msg_file *f);
/* Read the message into out: whole, or up to the end of its header (and a little past it). */
int imap_msg_read(struct imap_msg_file *f, bool header_only, struct sbuf *out,
		  const char **error_r);
/* Send len bytes from offset to the client. */
int imap_msg_send(struct imap_session *sess, struct imap_msg_file *f, uint64_t offset,
		  uint64_t len, const char **error_r);

#endif
