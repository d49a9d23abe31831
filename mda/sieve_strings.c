/*
 * sieve_strings.c: strings at compile time and at run time: encoded-character
 * sequences (RFC 5228 2.4.2.4), variable references (RFC 5229 3), expansion
 * with bounded sizes, the variables of a run, set modifiers (RFC 5229 4,
 * RFC 5435 6, draft-murchison-sieve-regex), and the "set" command and
 * "string" test.
 *
 * A string is compiled once into literal pieces and references; encoded
 * characters become literal text, so what they produce is never read as a
 * variable reference. Variable values are cut at max_variable_size.
 */
#include "sieve_private.h"
#include "sieve_commands.h"

#include <string.h>

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put_utf8(struct sbuf *out, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
	}
	sbuf_append(out, b, n);
}

/*
 * "${hex:" hex-pair-seq "}" or "${unicode:" unicode-hex-seq "}" at s. Returns
 * the length consumed (output appended), 0 when s is not such a sequence (it
 * stays literal), -1 for a character number out of range (an error).
 */
static size_t encoded_char(const char *s, size_t len, struct sbuf *out, int *bad)
{
	int unicode;
	size_t i, count = 0;
	struct sbuf tmp = {0};

	if (len > 6 && ascii_strncaseeq(s + 2, 4, "hex:"))
		unicode = 0, i = 6;
	else if (len > 10 && ascii_strncaseeq(s + 2, 8, "unicode:"))
		unicode = 1, i = 10;
	else
		return 0;
	for (;;) {
		size_t start;
		uint32_t v = 0;
		while (i < len && is_blank(s[i]))
			i++;
		if (i < len && s[i] == '}')
			break;
		for (start = i; i < len && hexdigit(s[i]) >= 0; i++) {
			if (unicode && v > 0x10ffff)
				continue; /* keep reading; range checked below */
			v = v * 16 + (uint32_t)hexdigit(s[i]);
		}
		if (i == start || (!unicode && i - start > 2) || i >= len ||
		    (!is_blank(s[i]) && s[i] != '}')) {
			sbuf_free(&tmp);
			return 0;
		}
		if (unicode) {
			/* RFC 5228 2.4.2.4: only 0..D7FF and E000..10FFFF are characters. */
			if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
				sbuf_free(&tmp);
				*bad = 1;
				return 0;
			}
			put_utf8(&tmp, v);
		} else {
			char c = (char)v;
			sbuf_append(&tmp, &c, 1);
		}
		count++;
	}
	if (count == 0) {
		sbuf_free(&tmp);
		return 0;
	}
	sbuf_append(out, sbuf_str(&tmp), tmp.len);
	sbuf_free(&tmp);
	return i + 1;
}

int sieve_identifier_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return 0;
	for (i = 1; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		      (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

static int name_in(char **names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

int sieve_global_index(struct sieve_vctx *vc, const char *name, unsigned int line,
                       unsigned int column)
{
	struct sieve_program *main = vc->state->main;
	int i = name_in(main->globals, main->nglobals, name);

	if (i >= 0)
		return i;
	if (main->nglobals >= vc->opts->max_variables)
		return sieve_vc_error(vc, line, column, "more than %u global variables",
		                      vc->opts->max_variables);
	main->globals = xrealloc(main->globals, (main->nglobals + 1) * sizeof(char *));
	main->globals[main->nglobals] = xstrdup(name);
	return (int)main->nglobals++;
}

/* Resolve a variable name (lower case) of this script: global when declared so. */
static int resolve_variable(struct sieve_vctx *vc, const char *name, int *kind, uint32_t *index,
                            unsigned int line, unsigned int column)
{
	struct sieve_program *prog = vc->prog;
	int i;

	if (name_in(vc->declared_globals, vc->ndeclared_globals, name) >= 0) {
		*kind = SEG_GLOBAL;
		if ((i = sieve_global_index(vc, name, line, column)) < 0)
			return -1;
		*index = (uint32_t)i;
		return 0;
	}
	i = name_in(prog->locals, prog->nlocals, name);
	if (i < 0) {
		if (prog->nlocals >= vc->opts->max_variables)
			return sieve_vc_error(vc, line, column, "more than %u variables",
			                      vc->opts->max_variables);
		prog->locals = xrealloc(prog->locals, (prog->nlocals + 1) * sizeof(char *));
		prog->locals[prog->nlocals] = xstrdup(name);
		i = (int)prog->nlocals++;
	}
	*kind = SEG_LOCAL;
	*index = (uint32_t)i;
	return 0;
}

/*
 * A variable reference "${" [namespace "."] name "}" at s (RFC 5229 3).
 * Returns the length consumed, 0 when it is not a reference (literal text).
 */
static size_t variable_ref(struct sieve_vctx *vc, const struct sieve_string *str, const char *s,
                           size_t len, struct sieve_seg *seg, int *failed)
{
	char *parts[8];
	size_t nparts = 0, i = 2, start, k;
	size_t consumed = 0;

	for (;;) {
		start = i;
		while (i < len && s[i] != '.' && s[i] != '}')
			i++;
		if (i >= len || nparts == ARRAY_SIZE(parts))
			break;
		if (!sieve_identifier_valid(s + start, i - start)) {
			size_t d;
			for (d = start; d < i && s[d] >= '0' && s[d] <= '9'; d++)
				;
			if (d != i || d == start || nparts > 0 || s[i] != '}')
				break;
		}
		parts[nparts] = xstrndup(s + start, i - start);
		ascii_lower(parts[nparts++]);
		if (s[i] == '}') {
			consumed = i + 1;
			break;
		}
		i++;
	}
	if (consumed > 0) {
		memset(seg, 0, sizeof(*seg));
		if (parts[0][0] >= '0' && parts[0][0] <= '9') {
			/* ${N}: a match variable; leading zeros allowed */
			unsigned long n = 0;
			for (k = 0; parts[0][k] != '\0' && n < SIEVE_MAX_MATCH; k++)
				n = n * 10 + (unsigned long)(parts[0][k] - '0');
			seg->kind = n < SIEVE_MAX_MATCH ? SEG_MATCH : SEG_EMPTY;
			seg->index = (uint32_t)n;
		} else if (nparts == 1) {
			int kind = SEG_EMPTY;
			if (resolve_variable(vc, parts[0], &kind, &seg->index, str->line,
			                     str->column) < 0)
				*failed = 1;
			seg->kind = kind;
		} else if (nparts == 2 && strcmp(parts[0], "global") == 0 &&
		           sieve_vc_has(vc, SIEVE_EXT_INCLUDE)) {
			int g = sieve_global_index(vc, parts[1], str->line, str->column);
			seg->kind = g < 0 ? SEG_EMPTY : SEG_GLOBAL;
			seg->index = g < 0 ? 0 : (uint32_t)g;
			if (g < 0)
				*failed = 1;
		} else {
			/* Unknown namespace: expands to nothing. */
			seg->kind = SEG_EMPTY;
		}
	}
	for (k = 0; k < nparts; k++)
		free(parts[k]);
	return consumed;
}

static void add_seg(struct sieve_string *s, struct sieve_seg *seg)
{
	/* Grow in powers of two: nsegs is a power of two exactly when full. */
	if (s->nsegs == 0 || (s->nsegs & (s->nsegs - 1)) == 0)
		s->segs = xrealloc(s->segs, (s->nsegs == 0 ? 1 : s->nsegs * 2) * sizeof(*s->segs));
	s->segs[s->nsegs++] = *seg;
}

static void flush_literal(struct sieve_string *s, struct sbuf *lit)
{
	struct sieve_seg seg;

	if (lit->len == 0)
		return;
	memset(&seg, 0, sizeof(seg));
	seg.kind = SEG_LITERAL;
	seg.text = lit->data;
	seg.len = lit->len;
	add_seg(s, &seg);
	memset(lit, 0, sizeof(*lit));
}

int sieve_string_compile(struct sieve_vctx *vc, struct sieve_string *s)
{
	int enc = sieve_vc_has(vc, SIEVE_EXT_ENCODED_CHARACTER);
	int vars = sieve_vc_has(vc, SIEVE_EXT_VARIABLES);
	struct sbuf lit = {0};
	size_t i = 0;
	int nvars = 0, failed = 0;

	if ((!enc && !vars) || memmem(s->data, s->len, "${", 2) == NULL)
		return 0;
	if (enc) {
		/* First pass: encoded characters become literal text (as Pigeonhole does,
		   what they produce may then form a variable reference). */
		while (i < s->len) {
			size_t n;
			int bad = 0;
			if (s->data[i] == '$' && i + 1 < s->len && s->data[i + 1] == '{' &&
			    (n = encoded_char(s->data + i, s->len - i, &lit, &bad)) > 0) {
				i += n;
				continue;
			}
			if (bad) {
				sbuf_free(&lit);
				return sieve_vc_error(
				    vc, s->line, s->column,
				    "invalid unicode character in encoded-character "
				    "sequence");
			}
			sbuf_append(&lit, &s->data[i], 1);
			i++;
		}
		free(s->data);
		s->data = lit.data != NULL ? lit.data : xstrdup("");
		s->len = lit.len;
		memset(&lit, 0, sizeof(lit));
	}
	if (!vars)
		return 0;
	for (i = 0; i < s->len;) {
		struct sieve_seg seg;
		size_t n;
		if (s->data[i] == '$' && i + 1 < s->len && s->data[i + 1] == '{' &&
		    (n = variable_ref(vc, s, s->data + i, s->len - i, &seg, &failed)) > 0) {
			flush_literal(s, &lit);
			add_seg(s, &seg);
			nvars++;
			i += n;
			continue;
		}
		sbuf_append(&lit, &s->data[i], 1);
		i++;
	}
	if (nvars == 0) {
		sbuf_free(&lit);
		return 0;
	}
	flush_literal(s, &lit);
	s->is_const = 0;
	return failed ? -1 : 0;
}

int sieve_variable_target(struct sieve_vctx *vc, const struct sieve_string *name,
                          struct sieve_node *node)
{
	const char *dot;
	char *lower;
	int kind, r = 0;

	if (!name->is_const)
		return sieve_vc_error(vc, name->line, name->column,
		                      "the variable name must be a constant string");
	lower = xstrndup(name->data, name->len);
	ascii_lower(lower);
	dot = strchr(lower, '.');
	if (dot != NULL && (size_t)(dot - lower) == 6 && strncmp(lower, "global", 6) == 0 &&
	    sieve_vc_has(vc, SIEVE_EXT_INCLUDE) &&
	    sieve_identifier_valid(dot + 1, strlen(dot + 1))) {
		int g = sieve_global_index(vc, dot + 1, name->line, name->column);
		node->var_kind = SEG_GLOBAL;
		node->var_index = g < 0 ? 0 : (uint32_t)g;
		if (g < 0)
			r = -1;
	} else if (!sieve_identifier_valid(lower, strlen(lower))) {
		r = sieve_vc_error(vc, name->line, name->column, "invalid variable name '%s'",
		                   lower);
	} else if (resolve_variable(vc, lower, &kind, &node->var_index, name->line, name->column) <
	           0) {
		r = -1;
	} else {
		node->var_kind = kind;
	}
	free(lower);
	return r;
}

struct sbuf *sieve_variable(struct sieve_run *run, int kind, uint32_t index)
{
	if (kind == SEG_LOCAL && index < run->nlocals)
		return &run->locals[index];
	if (kind == SEG_GLOBAL && index < run->nglobals)
		return &run->globals[index];
	return NULL;
}

/* Cut at most max bytes, at a character boundary. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n;

	if (len <= max)
		return len;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

void sieve_variable_set(struct sieve_run *run, struct sbuf *var, const char *value, size_t len)
{
	size_t n = utf8_cut(value, len, run->env->limits.max_variable_size);

	sbuf_reset(var);
	sbuf_append(var, value, n);
	if (var->data == NULL)
		sbuf_append(var, "", 0);
}

void sieve_expand(struct sieve_run *run, const struct sieve_string *s, struct sbuf *out)
{
	size_t i;

	sbuf_reset(out);
	sbuf_append(out, "", 0);
	if (s->is_const) {
		sbuf_append(out, s->data, s->len);
		return;
	}
	for (i = 0; i < s->nsegs; i++) {
		const struct sieve_seg *seg = &s->segs[i];
		const struct sbuf *v = NULL;
		if (seg->kind == SEG_LITERAL)
			sbuf_append(out, seg->text, seg->len);
		else if (seg->kind == SEG_MATCH && seg->index < run->nmatch)
			v = &run->match[seg->index];
		else if (seg->kind == SEG_LOCAL || seg->kind == SEG_GLOBAL)
			v = sieve_variable(run, seg->kind, seg->index);
		if (v != NULL)
			sbuf_append(out, sbuf_str(v), v->len);
		if (out->len > SIEVE_MAX_EXPANSION) {
			/* Bounded: many references to long variables cannot grow without end. */
			out->len = utf8_cut(out->data, out->len, SIEVE_MAX_EXPANSION);
			out->data[out->len] = '\0';
			return;
		}
	}
}

char *sieve_expand_dup(struct sieve_run *run, const struct sieve_string *s)
{
	struct sbuf b = {0};

	sieve_expand(run, s, &b);
	return b.data;
}

static void ascii_case(char *s, size_t len, int upper)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (upper && s[i] >= 'a' && s[i] <= 'z')
			s[i] = (char)(s[i] - 32);
		else if (!upper && s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] + 32);
	}
}

static void quote_chars(struct sbuf *value, const char *specials)
{
	struct sbuf out = {0};
	size_t i;

	for (i = 0; i < value->len; i++) {
		if (strchr(specials, value->data[i]) != NULL && value->data[i] != '\0')
			sbuf_append(&out, "\\", 1);
		sbuf_append(&out, &value->data[i], 1);
	}
	sbuf_reset(value);
	sbuf_append(value, sbuf_str(&out), out.len);
	sbuf_free(&out);
}

void sieve_apply_modifiers(unsigned int mods, struct sbuf *value)
{
	sbuf_append(value, "", 0);
	/* RFC 5229 4: precedence 40, then 30, 20, 10. */
	if (mods & (1u << (TAG_LOWER - TAG_LOWER)))
		ascii_case(value->data, value->len, 0);
	if (mods & (1u << (TAG_UPPER - TAG_LOWER)))
		ascii_case(value->data, value->len, 1);
	if (value->len > 0 && (mods & (1u << (TAG_LOWERFIRST - TAG_LOWER))))
		ascii_case(value->data, 1, 0);
	if (value->len > 0 && (mods & (1u << (TAG_UPPERFIRST - TAG_LOWER))))
		ascii_case(value->data, 1, 1);
	if (mods & (1u << (TAG_QUOTEWILDCARD - TAG_LOWER)))
		quote_chars(value, "*?\\");
	if (mods & (1u << (TAG_QUOTEREGEX - TAG_LOWER)))
		quote_chars(value, "\\^$.[]|()?*+{}");
	if (mods & (1u << (TAG_ENCODEURL - TAG_LOWER))) {
		/* RFC 5435 6: percent-encode all but RFC 3986 unreserved characters. */
		struct sbuf out = {0};
		size_t i;
		for (i = 0; i < value->len; i++) {
			unsigned char c = (unsigned char)value->data[i];
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~')
				sbuf_append(&out, &value->data[i], 1);
			else
				sbuf_appendf(&out, "%%%02X", c);
		}
		sbuf_reset(value);
		sbuf_append(value, sbuf_str(&out), out.len);
		sbuf_free(&out);
	}
	if (mods & (1u << (TAG_LENGTH - TAG_LOWER))) {
		size_t i, chars = 0;
		for (i = 0; i < value->len; i++) {
			if (((unsigned char)value->data[i] & 0xc0) != 0x80)
				chars++;
		}
		sbuf_reset(value);
		sbuf_appendf(value, "%zu", chars);
	}
}

/* The modifier tags of a node as a mask for sieve_apply_modifiers. */
static unsigned int modifier_mask(const struct sieve_node *node)
{
	unsigned int mask = 0;
	int t;

	for (t = TAG_LOWER; t <= TAG_LENGTH; t++) {
		if (NODE_HAS(node, t))
			mask |= 1u << (t - TAG_LOWER);
	}
	return mask;
}

SIEVE_VALIDATE(set)
{
	node->modifiers = modifier_mask(node);
	return sieve_variable_target(vc, &node->pos[0]->strs[0], node);
}

SIEVE_EXEC(set)
{
	struct sbuf value = {0};
	struct sbuf *var;

	sieve_expand(run, &node->pos[1]->strs[0], &value);
	/* The value is bounded before the modifiers see it (:length of a long value). */
	value.len = utf8_cut(value.data, value.len, run->env->limits.max_variable_size);
	value.data[value.len] = '\0';
	sieve_apply_modifiers(node->modifiers, &value);
	var = sieve_variable(run, node->var_kind, node->var_index);
	if (var != NULL)
		sieve_variable_set(run, var, sbuf_str(&value), value.len);
	sbuf_free(&value);
	return EXEC_OK;
}

/* RFC 5229 5: string [MATCH-TYPE] [COMPARATOR] <source> <key-list> */
SIEVE_TEST(string)
{
	struct sieve_matcher m;
	struct sbuf v = {0};
	size_t i;

	sieve_matcher_init(&m, run, node, node->pos[1]);
	for (i = 0; i < node->pos[0]->nstrs && !m.matched && !m.error; i++) {
		sieve_expand(run, &node->pos[0]->strs[i], &v);
		/* RFC 5229 5: for :count, an empty string counts as no value. */
		if (node->match_type == MT_COUNT && v.len == 0)
			continue;
		sieve_matcher_value(&m, sbuf_str(&v), v.len);
	}
	sbuf_free(&v);
	return sieve_matcher_finish(&m);
}
