/*
 * sieve_actions.c: the delivery actions of RFC 5228 4 (keep, discard,
 * redirect), fileinto (4.1, with :copy of RFC 3894 and :create of RFC 5490),
 * reject and ereject (RFC 5429), and the imap4flags extension (RFC 5232):
 * setflag, addflag, removeflag, hasflag and the :flags argument.
 *
 * Flags are kept as a space-separated set: system flags in their RFC 3501
 * spelling, keywords as IMAP atoms, duplicates (ignoring case) dropped with
 * the first spelling kept; anything that is not a valid flag is ignored.
 * redirect checks the address and refuses to loop: a message that already
 * carries the loop header naming this recipient is not redirected again.
 */
#include "sieve_private.h"
#include "sieve_commands.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

static const char *const system_flags[] = {"\\Answered", "\\Deleted", "\\Draft", "\\Flagged",
                                           "\\Seen"};

/* RFC 3501 9: flag-keyword = atom; atom-specials are not allowed. */
static const char *flag_canonical(const char *f, size_t len)
{
	size_t i;

	if (len == 0)
		return NULL;
	if (f[0] == '\\') {
		for (i = 0; i < ARRAY_SIZE(system_flags); i++) {
			if (ascii_strncaseeq(f, len, system_flags[i]))
				return system_flags[i];
		}
		return NULL; /* \Recent and unknown system flags cannot be set */
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)f[i];
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return NULL;
	}
	return f;
}

static int set_has(const char *set, const char *f, size_t len)
{
	const char *p = set;

	while (*p != '\0') {
		size_t n = strcspn(p, " ");
		if (n == len && strncasecmp(p, f, len) == 0)
			return 1;
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

void sieve_flags_add(struct sbuf *set, const char *flags, size_t len)
{
	size_t i = 0;

	sbuf_append(set, "", 0);
	while (i < len) {
		size_t start, n;
		const char *canon;
		while (i < len && (flags[i] == ' ' || flags[i] == '\t' || flags[i] == '\r' ||
		                   flags[i] == '\n'))
			i++;
		for (start = i; i < len && flags[i] != ' ' && flags[i] != '\t' &&
		                flags[i] != '\r' && flags[i] != '\n';
		     i++)
			;
		n = i - start;
		canon = flag_canonical(flags + start, n);
		if (canon == NULL || set_has(set->data, canon, n))
			continue;
		if (set->len > 0)
			sbuf_append(set, " ", 1);
		sbuf_append(set, canon, n);
	}
}

void sieve_flags_remove(struct sbuf *set, const char *flags, size_t len)
{
	struct sbuf remove = {0}, out = {0};
	const char *p;

	sieve_flags_add(&remove, flags, len);
	sbuf_append(&out, "", 0);
	for (p = sbuf_str(set); *p != '\0';) {
		size_t n = strcspn(p, " ");
		if (!set_has(remove.data, p, n)) {
			if (out.len > 0)
				sbuf_append(&out, " ", 1);
			sbuf_append(&out, p, n);
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	sbuf_reset(set);
	sbuf_append(set, out.data, out.len);
	sbuf_free(&remove);
	sbuf_free(&out);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **sieve_flags_array(const char *set, size_t *n_r)
{
	char **arr = NULL;
	size_t n = 0;
	const char *p = set;

	while (*p != '\0') {
		size_t len = strcspn(p, " ");
		if (len > 0) {
			arr = xrealloc(arr, (n + 1) * sizeof(*arr));
			arr[n++] = xstrndup(p, len);
		}
		p += len;
		while (*p == ' ')
			p++;
	}
	if (n > 1)
		qsort(arr, n, sizeof(*arr), cmp_str);
	*n_r = n;
	return arr;
}

/* The union of a flag list argument, expanded, as a normalized set. */
static void flags_of_list(struct sieve_run *run, const struct sieve_arg *list, struct sbuf *set)
{
	struct sbuf v = {0};
	size_t i;

	sbuf_reset(set);
	sbuf_append(set, "", 0);
	for (i = 0; i < list->nstrs; i++) {
		sieve_expand(run, &list->strs[i], &v);
		sieve_flags_add(set, sbuf_str(&v), v.len);
	}
	sbuf_free(&v);
}

SIEVE_VALIDATE(store)
{
	struct sieve_arg *mb = node->npos > 0 ? node->pos[0] : NULL;

	/* RFC 5228 4.1 / RFC 3501 5.1: mailbox names are UTF-8. */
	if (mb != NULL && mb->strs[0].is_const &&
	    !sieve_utf8_valid(mb->strs[0].data, mb->strs[0].len))
		return sieve_vc_error(vc, mb->line, mb->column,
		                      "fileinto: the mailbox name is not valid UTF-8");
	return 0;
}

static int store_action(struct sieve_run *run, const struct sieve_node *node, const char *mailbox)
{
	struct sieve_arg *flags = sieve_node_tag(node, TAG_FLAGS);
	struct sbuf set = {0};
	int r;

	if (flags != NULL)
		flags_of_list(run, flags, &set);
	else
		sbuf_append(&set, sbuf_str(&run->flags), run->flags.len);
	r = sieve_result_add_store(run, mailbox, NODE_HAS(node, TAG_COPY),
	                           NODE_HAS(node, TAG_CREATE), sbuf_str(&set));
	sbuf_free(&set);
	return r;
}

SIEVE_EXEC(keep)
{
	return store_action(run, node, run->env->default_mailbox);
}

SIEVE_EXEC(fileinto)
{
	char *mailbox = sieve_expand_dup(run, &node->pos[0]->strs[0]);
	int r = store_action(run, node, mailbox);

	free(mailbox);
	return r;
}

SIEVE_EXEC(discard)
{
	(void)node;
	return sieve_result_add_discard(run);
}

SIEVE_VALIDATE(redirect)
{
	struct sieve_string *s = &node->pos[0]->strs[0];
	char buf[512];

	if (s->is_const && sieve_address_normalize(s->data, s->len, buf, sizeof(buf)) < 0)
		return sieve_vc_error(vc, s->line, s->column, "redirect: invalid address '%s'",
		                      s->data);
	return 0;
}

/* A message that already passed through this recipient's redirect carries its mark. */
static int redirect_loops(struct sieve_run *run)
{
	const struct message_header *hdr = sieve_run_header(run);
	const char *owner = run->envelope != NULL ? run->envelope->to : NULL;
	const struct message_field *f;
	char a[512], b[512];
	size_t i;

	if (owner == NULL || *owner == '\0' ||
	    sieve_address_normalize(owner, strlen(owner), a, sizeof(a)) < 0)
		return 0;
	if (*run->env->loop_header == '\0')
		return 0;
	for (i = 0; (f = message_header_get(hdr, run->env->loop_header, i)) != NULL; i++) {
		if (sieve_address_normalize(f->value, f->value_len, b, sizeof(b)) == 0 &&
		    strcasecmp(a, b) == 0)
			return 1;
	}
	return 0;
}

SIEVE_EXEC(redirect)
{
	char *raw = sieve_expand_dup(run, &node->pos[0]->strs[0]);
	char addr[512], logbuf[LOG_UNTRUSTED_BUFSZ];
	int r;

	if (sieve_address_normalize(raw, strlen(raw), addr, sizeof(addr)) < 0) {
		r = sieve_run_error(run, "redirect: invalid address '%s'",
		                    log_untrusted(logbuf, raw, strlen(raw)));
		free(raw);
		return r;
	}
	free(raw);
	if (run->env->loop_header != NULL && redirect_loops(run)) {
		/* The message stays where it is: the implicit keep is not cancelled. */
		log_info("sieve: redirect to %s not done: mail loop",
		         log_untrusted(logbuf, addr, strlen(addr)));
		return EXEC_OK;
	}
	return sieve_result_add_redirect(run, addr, NODE_HAS(node, TAG_COPY));
}

SIEVE_EXEC(reject)
{
	char *reason = sieve_expand_dup(run, &node->pos[0]->strs[0]);
	int r = sieve_result_add_reject(run, reason, strcmp(node->name, "ereject") == 0);

	free(reason);
	return r;
}

SIEVE_VALIDATE(flagcmd)
{
	if (node->npos < 2) {
		node->var_kind = -1;
		return 0;
	}
	if (!sieve_vc_has(vc, SIEVE_EXT_VARIABLES))
		return sieve_vc_error(vc, node->line, node->column,
		                      "%s with a variable name needs require \"variables\"",
		                      node->name);
	return sieve_variable_target(vc, &node->pos[0]->strs[0], node);
}

SIEVE_VALIDATE(hasflag)
{
	struct sieve_arg *vars;
	size_t i;

	if (node->npos < 2)
		return 0;
	if (!sieve_vc_has(vc, SIEVE_EXT_VARIABLES))
		return sieve_vc_error(vc, node->line, node->column,
		                      "hasflag with variable names needs require \"variables\"");
	/* Each variable name becomes a string that expands to that variable. */
	vars = node->pos[0];
	for (i = 0; i < vars->nstrs; i++) {
		struct sieve_string *s = &vars->strs[i];
		struct sieve_node tmp;
		memset(&tmp, 0, sizeof(tmp));
		if (sieve_variable_target(vc, s, &tmp) < 0)
			return -1;
		s->segs = xcalloc(1, sizeof(*s->segs));
		s->segs[0].kind = tmp.var_kind;
		s->segs[0].index = tmp.var_index;
		s->nsegs = 1;
		s->is_const = 0;
	}
	return 0;
}

static struct sbuf *flag_target(struct sieve_run *run, const struct sieve_node *node)
{
	if (node->var_kind < 0)
		return &run->flags;
	return sieve_variable(run, node->var_kind, node->var_index);
}

SIEVE_EXEC(flags)
{
	struct sbuf *target = flag_target(run, node);
	struct sbuf list = {0}, merged = {0};

	if (target == NULL)
		return EXEC_OK;
	flags_of_list(run, node->pos[node->npos - 1], &list);
	if (strcmp(node->name, "setflag") == 0) {
		sieve_variable_set(run, target, list.data, list.len);
	} else if (strcmp(node->name, "addflag") == 0) {
		sbuf_append(&merged, "", 0);
		sieve_flags_add(&merged, sbuf_str(target), target->len);
		sieve_flags_add(&merged, list.data, list.len);
		sieve_variable_set(run, target, merged.data, merged.len);
	} else {
		sbuf_append(&merged, "", 0);
		sieve_flags_add(&merged, sbuf_str(target), target->len);
		sieve_flags_remove(&merged, list.data, list.len);
		sieve_variable_set(run, target, merged.data, merged.len);
	}
	sbuf_free(&list);
	sbuf_free(&merged);
	return EXEC_OK;
}

/* RFC 5232 5: hasflag [MATCH-TYPE] [COMPARATOR] [<variable-list>] <list-of-flags> */
SIEVE_TEST(hasflag)
{
	const struct sieve_arg *keys = node->pos[node->npos - 1];
	struct sieve_arg split;
	struct sieve_matcher m;
	struct sbuf flags = {0}, v = {0};
	char **arr;
	size_t n, i, k;
	int r;

	sbuf_append(&flags, "", 0);
	if (node->npos == 2) {
		for (i = 0; i < node->pos[0]->nstrs; i++) {
			sieve_expand(run, &node->pos[0]->strs[i], &v);
			sieve_flags_add(&flags, sbuf_str(&v), v.len);
		}
	} else {
		sieve_flags_add(&flags, sbuf_str(&run->flags), run->flags.len);
	}
	/* Each key may itself be a space-separated list of flags. */
	memset(&split, 0, sizeof(split));
	split.kind = ARG_STRLIST;
	for (i = 0; i < keys->nstrs; i++) {
		const char *p;
		sieve_expand(run, &keys->strs[i], &v);
		if (node->match_type == MT_COUNT || node->match_type == MT_VALUE ||
		    node->match_type == MT_REGEX) {
			split.strs = xrealloc(split.strs, (split.nstrs + 1) * sizeof(*split.strs));
			memset(&split.strs[split.nstrs], 0, sizeof(*split.strs));
			split.strs[split.nstrs].data = xstrndup(sbuf_str(&v), v.len);
			split.strs[split.nstrs].len = v.len;
			split.strs[split.nstrs++].is_const = 1;
			continue;
		}
		for (p = sbuf_str(&v); *p != '\0';) {
			size_t len = strcspn(p, " ");
			if (len > 0) {
				split.strs =
				    xrealloc(split.strs, (split.nstrs + 1) * sizeof(*split.strs));
				memset(&split.strs[split.nstrs], 0, sizeof(*split.strs));
				split.strs[split.nstrs].data = xstrndup(p, len);
				split.strs[split.nstrs].len = len;
				split.strs[split.nstrs++].is_const = 1;
			}
			p += len;
			while (*p == ' ')
				p++;
		}
	}
	sbuf_free(&v);
	arr = sieve_flags_array(sbuf_str(&flags), &n);
	sieve_matcher_init(&m, run, node, &split);
	for (k = 0; k < n; k++) {
		if (sieve_matcher_value(&m, arr[k], strlen(arr[k])) != 0)
			break;
	}
	r = sieve_matcher_finish(&m);
	for (k = 0; k < n; k++)
		free(arr[k]);
	free(arr);
	for (i = 0; i < split.nstrs; i++)
		free(split.strs[i].data);
	free(split.strs);
	sbuf_free(&flags);
	return r;
}
