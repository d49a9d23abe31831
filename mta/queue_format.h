/*
 * queue_format.h: the on-disk details of a queue file that the writer
 * (queue_file.c) and the reader (queue_msg.c) must agree on: the magic line,
 * the fixed-width fields that sluice-qmgr rewrites in place, and xtext, the
 * encoding of every string field. docs/queue-format.md describes the format
 * for people; this header is private to mta/queue_*.c.
 */
#ifndef SLUICE_QUEUE_FORMAT_H
#define SLUICE_QUEUE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define QUEUE_MAGIC "SLUICE-QUEUE 1\n"

/* "size " + 20 digits: the content length, written by the writer at commit. */
#define QUEUE_SIZE_DIGITS 20
/* "state " + attempts (6 digits) + ' ' + next attempt (12 digits, Unix s) + ' ' + flag. */
#define QUEUE_STATE_ATTEMPT_DIGITS 6
#define QUEUE_STATE_NEXT_DIGITS 12
#define QUEUE_STATE_FIELD_LEN (QUEUE_STATE_ATTEMPT_DIGITS + 1 + QUEUE_STATE_NEXT_DIGITS + 1 + 1)
/* "rcpt " + status (1) + ' ' + DSN status code padded with spaces (9). */
#define QUEUE_RCPT_DSN_LEN 9
#define QUEUE_RCPT_FIELD_LEN (1 + 1 + QUEUE_RCPT_DSN_LEN)
/* The line that ends the envelope; the content follows it. */
#define QUEUE_DATA_LINE "data\n"
/* Longest envelope line the reader accepts (an xtext address is at most ~3x 256). */
#define QUEUE_LINE_MAX 8192

/* Append s (len bytes) as RFC 3461 4 xtext: bytes outside 33..126, '+' and '=' as +HH. */
void queue_xtext_encode(struct sbuf *out, const char *s, size_t len);
/* Decode xtext into a new string; -1 when it is not valid xtext or decodes to a NUL. */
int queue_xtext_decode(const char *s, size_t len, char **out_r);

/* Write v as exactly `width` decimal digits (zero-padded) into out; -1 when it does not fit. */
int queue_format_digits(char *out, size_t width, uint64_t v);
/* Parse exactly len decimal digits; -1 when something else is there. */
int queue_parse_digits(const char *s, size_t len, uint64_t *v_r);

#endif
