/*
 * sieve_ext_misc.c: the small extensions: mailboxexists (RFC 5490 3.1),
 * duplicate (RFC 7352), environment (RFC 5183), ihave and error (RFC 5463),
 * spamtest and virustest (RFC 5235).
 *
 * Each asks the outside world only through struct sieve_env: mailbox and
 * duplicate lookups are callbacks, spam and virus scores are read from the
 * header fields the administrator configured. duplicate ids are recorded
 * in the result, for the caller to store once the delivery succeeded.
 */
#include "sieve_private.h"
#include "sieve_commands.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

SIEVE_TEST(mailboxexists)
{
	struct sbuf name = {0};
	size_t i;
	int r = 1;

	for (i = 0; i < node->pos[0]->nstrs && r == 1; i++) {
		sieve_expand(run, &node->pos[0]->strs[i], &name);
		if (run->env->mailbox_exists != NULL)
			r = run->env->mailbox_exists(run->env->ctx, sbuf_str(&name));
		else
			r = strcmp(sbuf_str(&name), run->env->default_mailbox) == 0;
		if (r < 0)
			r = sieve_run_error(run, "mailboxexists: mailbox lookup failed");
	}
	sbuf_free(&name);
	return r;
}

SIEVE_VALIDATE(duplicate)
{
	struct sieve_arg *h = sieve_node_tag(node, TAG_HEADER);

	if (h != NULL && h->strs[0].is_const &&
	    !message_field_name_valid(h->strs[0].data, h->strs[0].len))
		return sieve_vc_error(vc, h->line, h->column, "duplicate: invalid header name");
	return 0;
}

/* RFC 7352 3: duplicate [:handle] [:header / :uniqueid] [:seconds] [:last] */
SIEVE_TEST(duplicate)
{
	const struct sieve_limits *lim = &run->env->limits;
	struct sieve_arg *a;
	const struct message_field *f;
	char *handle, *id = NULL;
	uint64_t seconds = lim->duplicate_default_period;
	int r = 0;

	handle = (a = sieve_node_tag(node, TAG_HANDLE)) != NULL ? sieve_expand_dup(run, &a->strs[0])
	                                                        : xstrdup("");
	if ((a = sieve_node_tag(node, TAG_UNIQUEID)) != NULL) {
		id = sieve_expand_dup(run, &a->strs[0]);
	} else {
		char *name = (a = sieve_node_tag(node, TAG_HEADER)) != NULL
		                 ? sieve_expand_dup(run, &a->strs[0])
		                 : xstrdup("message-id");
		f = message_header_get(sieve_run_header(run), name, 0);
		if (f != NULL)
			id = xstrndup(f->value, f->value_len);
		free(name);
	}
	if ((a = sieve_node_tag(node, TAG_SECONDS)) != NULL)
		seconds = a->number;
	if (lim->duplicate_max_period > 0 && seconds > lim->duplicate_max_period)
		seconds = lim->duplicate_max_period;
	/* RFC 7352 3.1: no unique id (no Message-ID): never a duplicate. */
	if (id != NULL && *id != '\0') {
		if (run->env->duplicate_check != NULL)
			r = run->env->duplicate_check(run->env->ctx, handle, id, seconds,
			                              NODE_HAS(node, TAG_LAST));
		if (r < 0)
			r = sieve_run_error(run, "duplicate: lookup failed");
		else
			sieve_result_add_duplicate(run, handle, id, seconds,
			                           NODE_HAS(node, TAG_LAST));
	}
	free(handle);
	free(id);
	return r;
}

/* RFC 5183 4: the standard items. */
static const char *environment_item(struct sieve_run *run, const char *name, char *host,
                                    size_t hostsz)
{
	const struct sieve_env *env = run->env;

	if (strcasecmp(name, "domain") == 0)
		return env->env_domain;
	if (strcasecmp(name, "host") == 0) {
		if (env->env_host != NULL)
			return env->env_host;
		if (gethostname(host, hostsz) == 0) {
			host[hostsz - 1] = '\0';
			return host;
		}
		return NULL;
	}
	if (strcasecmp(name, "location") == 0)
		return "MDA";
	if (strcasecmp(name, "name") == 0)
		return "Sluice";
	if (strcasecmp(name, "phase") == 0)
		return "during";
	if (strcasecmp(name, "remote-host") == 0)
		return env->env_remote_host;
	if (strcasecmp(name, "remote-ip") == 0)
		return env->env_remote_ip;
	if (strcasecmp(name, "version") == 0)
		return SLUICE_VERSION;
	return NULL;
}

SIEVE_TEST(environment)
{
	struct sieve_matcher m;
	struct sbuf name = {0};
	char host[256];
	const char *v;

	sieve_matcher_init(&m, run, node, node->pos[1]);
	sieve_expand(run, &node->pos[0]->strs[0], &name);
	v = environment_item(run, sbuf_str(&name), host, sizeof(host));
	if (v != NULL)
		sieve_matcher_value(&m, v, strlen(v));
	sbuf_free(&name);
	return sieve_matcher_finish(&m);
}

SIEVE_VALIDATE(ihave)
{
	struct sieve_arg *list = node->pos[0];
	size_t i;

	node->ihave_ok = 1;
	for (i = 0; i < list->nstrs; i++) {
		int ext;
		/* RFC 5463 3: the capabilities are constants. */
		if (memmem(list->strs[i].data, list->strs[i].len, "${", 2) != NULL &&
		    sieve_vc_has(vc, SIEVE_EXT_VARIABLES))
			return sieve_vc_error(vc, list->strs[i].line, list->strs[i].column,
			                      "ihave: capabilities must be constant strings");
		ext = sieve_vc_capability(vc, list->strs[i].data);
		if (ext < 0)
			node->ihave_ok = 0;
		else
			node->ihave_mask |= EXT_BIT(ext);
	}
	return 0;
}

SIEVE_TEST(ihave)
{
	(void)run;
	return node->ihave_ok;
}

SIEVE_EXEC(error)
{
	char *msg = sieve_expand_dup(run, &node->pos[0]->strs[0]);

	sieve_run_error(run, "error: %s", msg);
	free(msg);
	return EXEC_ERROR;
}

/* RFC 5235: the test value from the configured field; "0" when not tested. */
static void score_value(struct sieve_run *run, const struct sieve_score_source *src, int top,
                        struct sbuf *out)
{
	const struct message_field *f = NULL;
	double v = 0, frac;
	size_t i;

	sbuf_reset(out);
	if (src->header != NULL && *src->header != '\0')
		f = message_header_get(sieve_run_header(run), src->header, 0);
	if (f == NULL) {
		sbuf_append_str(out, "0");
		return;
	}
	switch (src->type) {
	case SIEVE_SCORE_TEXT:
		for (i = 0; i < src->text_count; i++) {
			size_t n = strlen(src->text_values[i]);
			if (n <= f->value_len && strncasecmp(f->value, src->text_values[i], n) == 0)
				break;
		}
		sbuf_appendf(out, "%zu",
		             i < src->text_count ? (i + 1 < (size_t)top ? i + 1 : (size_t)top) : 0);
		return;
	case SIEVE_SCORE_STRLEN:
		v = (double)f->value_len;
		break;
	default: {
		const char *p = f->value;
		while (*p != '\0' && *p != '-' && *p != '.' && (*p < '0' || *p > '9'))
			p++;
		v = strtod(p, NULL);
		break;
	}
	}
	frac = src->max > 0 ? v / src->max : 0;
	if (frac < 0 || isnan(frac))
		frac = 0;
	if (frac > 1)
		frac = 1;
	if (top == 100)
		sbuf_appendf(out, "%d", (int)lround(frac * 100));
	else
		sbuf_appendf(out, "%d", 1 + (int)lround(frac * (top - 1)));
}

SIEVE_TEST(spamtest)
{
	const struct sieve_env *env = run->env;
	struct sieve_matcher m;
	struct sbuf value = {0};

	sieve_matcher_init(&m, run, node, node->pos[0]);
	if (strcmp(node->name, "virustest") == 0)
		score_value(run, &env->virus, 5, &value);
	else if (NODE_HAS(node, TAG_PERCENT))
		score_value(run, &env->spam_percent, 100, &value);
	else
		score_value(run, &env->spam, 10, &value);
	sieve_matcher_value(&m, sbuf_str(&value), value.len);
	sbuf_free(&value);
	return sieve_matcher_finish(&m);
}
