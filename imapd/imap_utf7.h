/*
 * imap_utf7.h: modified UTF-7 (RFC 3501 5.1.3), the encoding of mailbox
 * names for clients that did not ENABLE UTF8=ACCEPT or IMAP4rev2.
 * Folder names are UTF-8 in the store; these convert at the protocol edge.
 */
#ifndef SLUICE_IMAP_UTF7_H
#define SLUICE_IMAP_UTF7_H

#include <stddef.h>

#include "util.h"

/* Append the modified UTF-7 form of UTF-8 text to out; -1 (out unchanged) if not UTF-8. */
int imap_utf8_to_utf7(const char *in, size_t len, struct sbuf *out);
/*
 * Append the UTF-8 form of modified UTF-7 text to out; -1 (out unchanged)
 * when it is not the one valid encoding of a string: bytes outside printable
 * ASCII, a bad or empty shifted run, printable ASCII or a lone surrogate
 * inside one, two runs in a row, non-zero padding bits.
 */
int imap_utf7_to_utf8(const char *in, size_t len, struct sbuf *out);

#endif
