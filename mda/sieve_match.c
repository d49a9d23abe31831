/*
 * sieve_match.c: comparators (RFC 4790 via RFC 5228 2.7.3: i;octet,
 * i;ascii-casemap, i;ascii-numeric), match types (:is, :contains, :matches
 * with match variables per RFC 5229 3.2, :regex per
 * draft-murchison-sieve-regex with POSIX regcomp/regexec, :value and :count
 * per RFC 5231), and the matcher the tests feed their values to.
 *
 * Bounds: wildcard matching is the classic backtrack-to-the-last-star
 * algorithm, O(value x pattern), and charges its work to the run's step
 * budget so no value/pattern pair can stall a delivery. Regular expressions
 * are limited in size, may not use back-references, and the size of the
 * automaton they expand to is estimated first, so regcomp cannot be made to
 * build an enormous one.
 */
#include "sieve_private.h"

#include <ctype.h>
#include <regex.h>
#include <string.h>

#define REGEX_MAX_LEN 4096
#define REGEX_MAX_WEIGHT 20000 /* estimated automaton size (see est_atom) */
#define WORK_PER_STEP 1024

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static int char_eq(int cmp, unsigned char a, unsigned char b)
{
	return cmp == CMP_CASEMAP ? lower(a) == lower(b) : a == b;
}

/* i;ascii-numeric: the leading digits as a number, no digits = positive infinity. */
static int numeric_order(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t na = 0, nb = 0, sa = 0, sb = 0;

	while (na < alen && a[na] >= '0' && a[na] <= '9')
		na++;
	while (nb < blen && b[nb] >= '0' && b[nb] <= '9')
		nb++;
	if (na == 0 || nb == 0)
		return (na == 0) - (nb == 0);
	while (sa + 1 < na && a[sa] == '0')
		sa++;
	while (sb + 1 < nb && b[sb] == '0')
		sb++;
	if (na - sa != nb - sb)
		return na - sa < nb - sb ? -1 : 1;
	return memcmp(a + sa, b + sb, na - sa);
}

int sieve_compare_order(int cmp, const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	if (cmp == CMP_NUMERIC)
		return numeric_order(a, alen, b, blen);
	for (i = 0; i < alen && i < blen; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (cmp == CMP_CASEMAP)
			x = lower(x), y = lower(y);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return alen == blen ? 0 : alen < blen ? -1 : 1;
}

int sieve_compare_eq(int cmp, const char *a, size_t alen, const char *b, size_t blen)
{
	if (cmp != CMP_NUMERIC && alen != blen)
		return 0;
	return sieve_compare_order(cmp, a, alen, b, blen) == 0;
}

int sieve_relop_holds(int relop, int order)
{
	switch (relop) {
	case REL_GT:
		return order > 0;
	case REL_GE:
		return order >= 0;
	case REL_LT:
		return order < 0;
	case REL_LE:
		return order <= 0;
	case REL_EQ:
		return order == 0;
	default:
		return order != 0;
	}
}

static int charge_work(struct sieve_run *run, uint64_t *work)
{
	if (++*work % WORK_PER_STEP == 0)
		return sieve_run_charge(run, 1);
	return 0;
}

static int contains(struct sieve_run *run, int cmp, const char *v, size_t vlen, const char *k,
                    size_t klen)
{
	uint64_t work = 0;
	size_t i, j;

	if (klen == 0)
		return 1;
	if (cmp == CMP_OCTET)
		return memmem(v, vlen, k, klen) != NULL;
	for (i = 0; i + klen <= vlen; i++) {
		for (j = 0; j < klen; j++) {
			if (charge_work(run, &work) < 0)
				return -1;
			if (!char_eq(cmp, (unsigned char)v[i + j], (unsigned char)k[j]))
				break;
		}
		if (j == klen)
			return 1;
	}
	return 0;
}

/* Length of the character at s for "?" (one UTF-8 character, else one octet). */
static size_t char_len(const char *s, size_t len)
{
	return mime_utf8_char_len(s, len);
}

struct wild_tok {
	char kind; /* 'c' literal octet, '*', '?' */
	unsigned char c;
};

struct capture {
	size_t start, len;
};

/*
 * RFC 5228 2.7.1 :matches: "*" any run of characters, "?" one character, "\"
 * quotes the next one. Captures record each wildcard's text (RFC 5229 3.2):
 * earlier stars take the shortest text that lets the rest match.
 */
static int wildcard(struct sieve_run *run, int cmp, const char *v, size_t vlen, const char *p,
                    size_t plen, struct capture *caps, size_t *ncaps)
{
	struct wild_tok *toks = xmalloc((plen + 1) * sizeof(*toks));
	size_t *capidx = xmalloc((plen + 1) * sizeof(*capidx));
	size_t ntok = 0, nwild = 0, i, pi = 0, vi = 0, star_pi = (size_t)-1, star_vi = 0;
	uint64_t work = 0;
	int r = 0;

	for (i = 0; i < plen; i++) {
		if (p[i] == '\\' && i + 1 < plen) {
			toks[ntok].kind = 'c';
			toks[ntok++].c = (unsigned char)p[++i];
		} else if (p[i] == '*' || p[i] == '?') {
			toks[ntok].kind = p[i];
			capidx[ntok++] = nwild++;
		} else {
			toks[ntok].kind = 'c';
			toks[ntok++].c = (unsigned char)p[i];
		}
	}
	for (i = 0; i < nwild && i < SIEVE_MAX_MATCH; i++)
		caps[i].start = caps[i].len = 0;
	while (vi < vlen) {
		if (charge_work(run, &work) < 0) {
			r = -1;
			goto out;
		}
		if (pi < ntok && toks[pi].kind == '?') {
			size_t n = char_len(v + vi, vlen - vi);
			if (capidx[pi] < SIEVE_MAX_MATCH)
				caps[capidx[pi]].start = vi, caps[capidx[pi]].len = n;
			vi += n;
			pi++;
		} else if (pi < ntok && toks[pi].kind == 'c' &&
		           char_eq(cmp, (unsigned char)v[vi], toks[pi].c)) {
			vi++;
			pi++;
		} else if (pi < ntok && toks[pi].kind == '*') {
			star_pi = pi;
			star_vi = vi;
			if (capidx[pi] < SIEVE_MAX_MATCH)
				caps[capidx[pi]].start = vi, caps[capidx[pi]].len = 0;
			pi++;
		} else if (star_pi != (size_t)-1) {
			star_vi += char_len(v + star_vi, vlen - star_vi);
			if (capidx[star_pi] < SIEVE_MAX_MATCH)
				caps[capidx[star_pi]].len = star_vi - caps[capidx[star_pi]].start;
			pi = star_pi + 1;
			vi = star_vi;
		} else {
			goto out;
		}
	}
	while (pi < ntok && toks[pi].kind == '*') {
		if (capidx[pi] < SIEVE_MAX_MATCH)
			caps[capidx[pi]].start = vlen, caps[capidx[pi]].len = 0;
		pi++;
	}
	r = pi == ntok;
	*ncaps = nwild < SIEVE_MAX_MATCH ? nwild : SIEVE_MAX_MATCH;
out:
	free(toks);
	free(capidx);
	return r;
}

/*
 * An upper estimate of the size of the automaton regcomp builds: glibc
 * expands "x+" to "xx*" and "x{n,m}" to m copies of x, so stacked and nested
 * repetitions grow it exponentially. A small recursive descent over the
 * expression weighs every atom by its repetitions; stacked repetition
 * operators (undefined in POSIX ERE anyway) and back-references are refused.
 */
struct re_est {
	const char *p;
	size_t i, len;
	unsigned int depth;
	int bad;
};

static double est_alt(struct re_est *e);

static int est_bound(struct re_est *e, double *mult)
{
	size_t i = e->i + 1;
	unsigned long n = 0, m = 0;
	int comma = 0, have_m = 0;

	if (i >= e->len || !isdigit((unsigned char)e->p[i]))
		return 0; /* a literal '{' */
	for (; i < e->len && (isdigit((unsigned char)e->p[i]) || e->p[i] == ','); i++) {
		if (e->p[i] == ',') {
			comma = 1;
		} else if (comma) {
			m = m < 100000 ? m * 10 + (unsigned long)(e->p[i] - '0') : m;
			have_m = 1;
		} else {
			n = n < 100000 ? n * 10 + (unsigned long)(e->p[i] - '0') : n;
		}
	}
	if (i >= e->len || e->p[i] != '}')
		return 0;
	e->i = i + 1;
	*mult = (double)(comma ? (have_m ? m : n + 1) : n) + 1;
	return 1;
}

static double est_atom(struct re_est *e)
{
	double size = 1, mult;
	int quantified = 0;
	char c = e->p[e->i];

	if (c == '(') {
		e->i++;
		if (++e->depth > 32)
			e->bad = 1;
		size = est_alt(e) + 1;
		if (e->i < e->len && e->p[e->i] == ')')
			e->i++;
		e->depth--;
	} else if (c == '[') {
		e->i++;
		if (e->i < e->len && e->p[e->i] == '^')
			e->i++;
		if (e->i < e->len && e->p[e->i] == ']')
			e->i++;
		while (e->i < e->len && e->p[e->i] != ']') {
			if (e->p[e->i] == '[' && e->i + 1 < e->len &&
			    strchr(":.=", e->p[e->i + 1]) != NULL) {
				const char *end =
				    strstr(e->p + e->i + 2, e->p[e->i + 1] == ':'   ? ":]"
				                            : e->p[e->i + 1] == '.' ? ".]"
				                                                    : "=]");
				e->i = end != NULL ? (size_t)(end - e->p) + 2 : e->len;
			} else {
				e->i++;
			}
		}
		if (e->i < e->len)
			e->i++;
	} else if (c == '\\') {
		if (e->i + 1 < e->len && e->p[e->i + 1] >= '1' && e->p[e->i + 1] <= '9')
			e->bad = 1;
		e->i += e->i + 1 < e->len ? 2 : 1;
	} else {
		e->i++;
	}
	while (e->i < e->len) {
		c = e->p[e->i];
		if (c == '*' || c == '?') {
			e->i++;
			size += 1;
		} else if (c == '+') {
			e->i++;
			size = size * 2 + 1;
		} else if (c == '{' && est_bound(e, &mult)) {
			size = size * mult + 1;
		} else {
			break;
		}
		if (quantified++)
			e->bad = 1; /* "a++", "a*{2}": stacked repetition */
	}
	return size;
}

static double est_alt(struct re_est *e)
{
	double total = 0;

	while (e->i < e->len && e->p[e->i] != ')' && !e->bad) {
		if (e->p[e->i] == '|') {
			e->i++;
			total += 1;
			continue;
		}
		total += est_atom(e);
		if (total > REGEX_MAX_WEIGHT)
			e->bad = 1;
	}
	return total;
}

const char *sieve_regex_check(const char *pattern, int comparator)
{
	regex_t re;
	struct re_est e;
	size_t len = strlen(pattern);

	if (len > REGEX_MAX_LEN)
		return "too long";
	memset(&e, 0, sizeof(e));
	e.p = pattern;
	e.len = len;
	while (e.i < e.len && !e.bad) {
		est_alt(&e);
		if (e.i < e.len)
			e.i++; /* an unbalanced ')': regcomp will judge it */
	}
	if (e.bad)
		return "too complex (stacked or too many repetitions, or a back-reference)";
	if (regcomp(&re, pattern, REG_EXTENDED | (comparator == CMP_CASEMAP ? REG_ICASE : 0)) != 0)
		return "syntax error";
	regfree(&re);
	return NULL;
}

static int regex_match(struct sieve_matcher *m, const char *value, size_t vlen, const char *k)
{
	struct sieve_run *run = m->run;
	regmatch_t pm[10];
	regex_t re;
	char *v;
	int r;
	size_t i;

	/* A bad expression built at run time matches nothing (as in Pigeonhole). */
	if (sieve_regex_check(k, m->node->comparator) != NULL)
		return 0;
	if (sieve_run_charge(run, 1 + vlen / WORK_PER_STEP) < 0)
		return -1;
	if (regcomp(&re, k, REG_EXTENDED | (m->node->comparator == CMP_CASEMAP ? REG_ICASE : 0)))
		return 0;
	/* Values may point into the message: regexec needs its own terminated copy
	   (it stops at the first NUL, which a binary value may contain). */
	v = xstrndup(value, vlen);
	r = regexec(&re, v, ARRAY_SIZE(pm), pm, 0);
	if (r == 0 && m->set_vars) {
		for (i = 0; i < ARRAY_SIZE(pm); i++) {
			sbuf_reset(&run->match[i]);
			if (pm[i].rm_so >= 0)
				sbuf_append(&run->match[i], v + pm[i].rm_so,
				            (size_t)(pm[i].rm_eo - pm[i].rm_so));
			else
				sbuf_append(&run->match[i], "", 0);
		}
		run->nmatch = ARRAY_SIZE(pm);
	}
	free(v);
	regfree(&re);
	return r == 0;
}

void sieve_matcher_init(struct sieve_matcher *m, struct sieve_run *run,
                        const struct sieve_node *node, const struct sieve_arg *keys)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->run = run;
	m->node = node;
	m->keys = keys;
	m->set_vars = 1;
	m->nkeys = keys->nstrs;
	m->key_cache = xcalloc(m->nkeys, sizeof(*m->key_cache));
	for (i = 0; i < m->nkeys; i++)
		sieve_expand(run, &keys->strs[i], &m->key_cache[i]);
}

static int match_one(struct sieve_matcher *m, const char *v, size_t vlen, const struct sbuf *key)
{
	const struct sieve_node *node = m->node;
	struct capture caps[SIEVE_MAX_MATCH];
	size_t ncaps = 0, i;
	int r;

	switch (node->match_type) {
	case MT_IS:
		/* An empty value equals only the empty key, whatever the comparator (as in
		   Pigeonhole; i;ascii-numeric would otherwise call it infinite). */
		if (vlen == 0)
			return key->len == 0;
		return sieve_compare_eq(node->comparator, v, vlen, sbuf_str(key), key->len);
	case MT_CONTAINS:
		return contains(m->run, node->comparator, v, vlen, sbuf_str(key), key->len);
	case MT_VALUE:
		return sieve_relop_holds(node->relop, sieve_compare_order(node->comparator, v, vlen,
		                                                          sbuf_str(key), key->len));
	case MT_REGEX:
		return regex_match(m, v, vlen, sbuf_str(key));
	case MT_MATCHES:
		r = wildcard(m->run, node->comparator, v, vlen, sbuf_str(key), key->len, caps,
		             &ncaps);
		if (r == 1 && m->set_vars) {
			struct sieve_run *run = m->run;
			sbuf_reset(&run->match[0]);
			sbuf_append(&run->match[0], v, vlen);
			for (i = 0; i < ncaps && i + 1 < SIEVE_MAX_MATCH; i++) {
				sbuf_reset(&run->match[i + 1]);
				sbuf_append(&run->match[i + 1], v + caps[i].start, caps[i].len);
			}
			run->nmatch = (unsigned int)(ncaps + 1 < SIEVE_MAX_MATCH ? ncaps + 1
			                                                         : SIEVE_MAX_MATCH);
		}
		return r;
	default:
		return 0;
	}
}

int sieve_matcher_value(struct sieve_matcher *m, const char *value, size_t len)
{
	size_t i;

	if (m->error || m->matched)
		return m->error ? -1 : 1;
	if (sieve_run_charge(m->run, 1) < 0) {
		m->error = 1;
		return -1;
	}
	m->count++;
	if (m->node->match_type == MT_COUNT)
		return 0;
	for (i = 0; i < m->nkeys; i++) {
		int r = match_one(m, value, len, &m->key_cache[i]);
		if (r < 0) {
			m->error = 1;
			return -1;
		}
		if (r > 0) {
			m->matched = 1;
			return 1;
		}
	}
	return 0;
}

int sieve_matcher_finish(struct sieve_matcher *m)
{
	char count[32];
	size_t i;
	int r = 0;

	if (!m->error && m->node->match_type == MT_COUNT) {
		int n = snprintf(count, sizeof(count), "%u", m->count);
		for (i = 0; i < m->nkeys && !r; i++)
			r = sieve_relop_holds(
			    m->node->relop,
			    sieve_compare_order(m->node->comparator, count, (size_t)n,
			                        sbuf_str(&m->key_cache[i]), m->key_cache[i].len));
	} else {
		r = m->matched;
	}
	sieve_matcher_deinit(m);
	return m->error ? EXEC_ERROR : r;
}

void sieve_matcher_deinit(struct sieve_matcher *m)
{
	size_t i;

	for (i = 0; i < m->nkeys; i++)
		sbuf_free(&m->key_cache[i]);
	free(m->key_cache);
	m->key_cache = NULL;
	m->nkeys = 0;
}
