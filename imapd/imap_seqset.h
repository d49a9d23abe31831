/*
 * imap_seqset.h: sets of message numbers or UIDs (RFC 3501 9
 * "sequence-set", RFC 9051 9): parsed from "1:4,7,9:*", kept as sorted
 * disjoint ranges, and written back in the same compact form (UIDPLUS,
 * ESEARCH, VANISHED).
 */
#ifndef SLUICE_IMAP_SEQSET_H
#define SLUICE_IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct imap_range {
	uint32_t lo, hi; /* lo <= hi */
};

struct imap_seqset {
	struct imap_range *r; /* sorted, disjoint, not adjacent */
	size_t n, cap;
};

/*
 * Parse a sequence set; '*' stands for star (the largest number in use; 0
 * when there is none, which selects nothing). Appends to set and
 * normalizes. -1 on a syntax error (0, an empty element, junk).
 */
int imap_seqset_parse(const char *s, size_t len, uint32_t star, struct imap_seqset *set);
/* Add lo:hi (either order); call imap_seqset_normalize() after a batch. */
void imap_seqset_add(struct imap_seqset *set, uint32_t lo, uint32_t hi);
/* Sort and merge the ranges. */
void imap_seqset_normalize(struct imap_seqset *set);
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t v);
/* Numbers in the set. */
uint64_t imap_seqset_count(const struct imap_seqset *set);
/* Append "1:4,7" (nothing for an empty set). */
void imap_seqset_format(const struct imap_seqset *set, struct sbuf *out);
void imap_seqset_clear(struct imap_seqset *set);
void imap_seqset_copy(struct imap_seqset *dst, const struct imap_seqset *src);

#endif
