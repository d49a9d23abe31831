/*
 * imap_search.h: SEARCH criteria (RFC 3501 6.4.4, RFC 9051 6.4.4) as a
 * program: parsed once from the command's arguments (imap_search_parse.c)
 * and run over the selected folder (imap_search_eval.c), reading per
 * message only what the criteria need: the index row, the cached
 * ENVELOPE, the header from the file, or the decoded text of every part.
 * SEARCH, SORT and THREAD share it.
 */
#ifndef SLUICE_IMAP_SEARCH_H
#define SLUICE_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imapd.h"

struct imap_search;

/*
 * Parse the search keys args[0..nargs) (all ANDed). Strings are in
 * `charset` (NULL: UTF-8/US-ASCII). -1 with *error_r: a BAD reply, or
 * NO [BADCHARSET] when *badcharset_r is set.
 */
int imap_search_parse(struct imap_session *sess, const struct imap_arg *args, size_t nargs,
		      const char *charset, struct imap_search **s_r, bool *badcharset_r,
		      const char **error_r);
void imap_search_free(struct imap_search **s);
/* Whether the criteria have a MODSEQ key (RFC 7162 3.1.5: the result then tells one). */
bool imap_search_has_modseq(const struct imap_search *s);

/*
 * The messages that matched, in sequence order, with their index rows. A
 * SEARCH (with_envelope false) of flags, keywords, sizes, numbers and UIDs
 * while the view is at its folder snapshot is answered from memory: res
 * and row are NULL then (and max_modseq 0: no MODSEQ key was given).
 */
struct imap_search_result {
	size_t *idx;      /* view indexes */
	int *row;         /* the row of each in res */
	size_t n;
	int64_t max_modseq;
	struct pg_result *res; /* enum search_col */
};

/* Columns of imap_search_result.res. */
enum search_col { SC_UID, SC_FLAGS, SC_KEYWORDS, SC_MODSEQ, SC_SIZE, SC_DATE, SC_ENV, SC_BLOB,
		  SC_PREFIX, SC_HFIELDS };

/* Run over the selected folder; with_envelope asks for the ENVELOPE column (SORT, THREAD). */
int imap_search_run(struct imap_session *sess, struct imap_search *s, bool with_envelope,
		    struct imap_search_result *r, const char **error_r);
void imap_search_result_free(struct imap_search_result *r);

/* --- shared with SORT and THREAD (imap_search_eval.c) --- */

/* Case-fold UTF-8 (simple per-character lower case) and append to out. */
void imap_casefold(const char *in, size_t len, struct sbuf *out);
/* Days since 1970-01-01 of an RFC 5322 Date value (its own date, time zone ignored); -1 if none. */
int64_t imap_rfc5322_day(const char *date);
/* The same as seconds since the epoch (UTC, time zone applied); -1 if none. */
int64_t imap_rfc5322_time(const char *date);

#endif
