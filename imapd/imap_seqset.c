/*
 * imap_seqset.c: sequence sets (see imap_seqset.h). Parsing is strict
 * (RFC 3501 9: seq-number is nz-number or "*", elements are separated by
 * single commas) and bounded by the input's length: each element is one
 * range, however large.
 */
#include "imap_seqset.h"

#include <stdlib.h>
#include <string.h>

void imap_seqset_add(struct imap_seqset *set, uint32_t lo, uint32_t hi)
{
	if (lo > hi) {
		uint32_t t = lo;
		lo = hi;
		hi = t;
	}
	if (set->n == set->cap) {
		set->cap = set->cap == 0 ? 8 : set->cap * 2;
		set->r = xrealloc(set->r, set->cap * sizeof(*set->r));
	}
	set->r[set->n].lo = lo;
	set->r[set->n].hi = hi;
	set->n++;
}

static int range_cmp(const void *a, const void *b)
{
	const struct imap_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : 0;
}

void imap_seqset_normalize(struct imap_seqset *set)
{
	size_t out = 0;

	if (set->n < 2)
		return;
	qsort(set->r, set->n, sizeof(*set->r), range_cmp);
	for (size_t i = 1; i < set->n; i++) {
		struct imap_range *last = &set->r[out];

		if (last->hi == UINT32_MAX || set->r[i].lo <= last->hi + 1) {
			if (set->r[i].hi > last->hi)
				last->hi = set->r[i].hi;
		} else {
			set->r[++out] = set->r[i];
		}
	}
	set->n = out + 1;
}

/* One seq-number: nz-number or '*'. */
static int parse_number(const char *s, size_t len, size_t *i, uint32_t star, uint32_t *v_r)
{
	uint64_t v = 0;
	size_t start = *i;

	if (*i < len && s[*i] == '*') {
		(*i)++;
		*v_r = star;
		return 0;
	}
	while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
		v = v * 10 + (uint64_t)(s[*i] - '0');
		if (v > UINT32_MAX)
			return -1;
		(*i)++;
	}
	if (*i == start || v == 0 || s[start] == '0')
		return -1;
	*v_r = (uint32_t)v;
	return 0;
}

int imap_seqset_parse(const char *s, size_t len, uint32_t star, struct imap_seqset *set)
{
	size_t i = 0, added = 0, start_n = set->n;

	while (i < len) {
		uint32_t lo, hi;

		if (parse_number(s, len, &i, star, &lo) < 0)
			goto bad;
		hi = lo;
		if (i < len && s[i] == ':') {
			i++;
			if (parse_number(s, len, &i, star, &hi) < 0)
				goto bad;
		}
		/* '*' in an empty mailbox is 0: that element selects nothing */
		if (lo != 0 || hi != 0)
			imap_seqset_add(set, lo == 0 ? 1 : lo, hi == 0 ? 1 : hi);
		added++;
		if (i < len) {
			if (s[i] != ',' || i + 1 == len)
				goto bad;
			i++;
		}
	}
	if (added == 0)
		goto bad;
	imap_seqset_normalize(set);
	return 0;
bad:
	set->n = start_n;
	return -1;
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t v)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v < set->r[mid].lo)
			hi = mid;
		else if (v > set->r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

uint64_t imap_seqset_count(const struct imap_seqset *set)
{
	uint64_t n = 0;

	for (size_t i = 0; i < set->n; i++)
		n += (uint64_t)set->r[i].hi - set->r[i].lo + 1;
	return n;
}

void imap_seqset_format(const struct imap_seqset *set, struct sbuf *out)
{
	for (size_t i = 0; i < set->n; i++) {
		if (set->r[i].lo == set->r[i].hi)
			sbuf_appendf(out, "%s%u", i > 0 ? "," : "", set->r[i].lo);
		else
			sbuf_appendf(out, "%s%u:%u", i > 0 ? "," : "", set->r[i].lo, set->r[i].hi);
	}
}

void imap_seqset_clear(struct imap_seqset *set)
{
	free(set->r);
	memset(set, 0, sizeof(*set));
}

void imap_seqset_copy(struct imap_seqset *dst, const struct imap_seqset *src)
{
	imap_seqset_clear(dst);
	if (src->n == 0)
		return;
	dst->r = xmalloc(src->n * sizeof(*src->r));
	memcpy(dst->r, src->r, src->n * sizeof(*src->r));
	dst->n = dst->cap = src->n;
}
