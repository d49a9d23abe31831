/*
 * sieve_tests.c: the message tests of RFC 5228 5: header (RFC 2047-decoded
 * values), address (RFC 5322 address lists through lib/addr.h, with address
 * parts of 2.7.4 and :user/:detail of RFC 5233), envelope (5.4), exists and
 * size; with :index/:last of RFC 5260 6 and :mime/:anychild and the
 * Content-Type options of RFC 5703 4.
 *
 * Header values come from the header as editheader left it; with :mime they
 * come from the MIME part foreverypart is at (the message when outside a
 * loop). Addresses that do not parse are skipped, as RFC 5228 2.7.4 allows.
 */
#include "sieve_private.h"
#include "sieve_commands.h"
#include "addr.h"

#include <stdio.h>
#include <string.h>

/* Headers the address test accepts (RFC 5228 5.1 "MUST include at least ..."). */
static const char *const address_headers[] = {
    "from",
    "sender",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "resent-from",
    "resent-sender",
    "resent-to",
    "resent-cc",
    "resent-bcc",
    "resent-reply-to",
    "return-path",
    "delivered-to",
    "errors-to",
    "envelope-to",
    "x-original-to",
    "x-envelope-to",
    "disposition-notification-to",
    "mail-followup-to",
    "mail-reply-to",
    "return-receipt-to",
    "apparently-to",
    "original-recipient",
    "x-beenthere",
    "list-post",
    "x-sluice-loop",
};

int sieve_address_normalize(const char *s, size_t len, char *out, size_t outsz)
{
	struct addr_list it;
	struct addr_mailbox mb;
	const char *error;
	char buf[ADDR_BUFSZ];

	addr_list_init(&it, s, len, ADDR_SMTPUTF8 | ADDR_ALLOW_LITERAL, 2);
	if (addr_list_next(&it, &mb, &error) != 1 || mb.in_group || mb.addr.domain[0] == '\0')
		return -1;
	if (addr_list_next(&it, &mb, &error) != 0)
		return -1;
	addr_format(&mb.addr, buf);
	if (strlen(buf) >= outsz)
		return -1;
	memcpy(out, buf, strlen(buf) + 1);
	return 0;
}

int sieve_address_part(struct sieve_run *run, int part, const char *local, const char *domain,
                       struct sbuf *out)
{
	const char *delims =
	    run->env->recipient_delimiter != NULL ? run->env->recipient_delimiter : "";
	size_t split = *delims != '\0' ? strcspn(local, delims) : strlen(local);

	sbuf_reset(out);
	sbuf_append(out, "", 0);
	switch (part) {
	case AP_LOCALPART:
		sbuf_append_str(out, local);
		return 1;
	case AP_DOMAIN:
		sbuf_append_str(out, domain);
		return 1;
	case AP_USER:
		/* RFC 5233 4: the part before the separator (all of it when there is none). */
		sbuf_append(out, local, split);
		return 1;
	case AP_DETAIL:
		if (local[split] == '\0')
			return 0; /* no separator: no detail, the test cannot match */
		sbuf_append_str(out, local + split + 1);
		return 1;
	default:
		sbuf_append_str(out, local);
		if (*domain != '\0') {
			sbuf_append_str(out, "@");
			sbuf_append_str(out, domain);
		}
		return 1;
	}
}

/* The headers a node looks at: the message's, or MIME part headers with :mime. */
static size_t node_headers(struct sieve_run *run, const struct sieve_node *node,
                           const struct message_header **out, size_t max)
{
	const struct mime_part *top, *p;
	size_t n = 0;

	if (!NODE_HAS(node, TAG_MIME)) {
		out[0] = sieve_run_header(run);
		return 1;
	}
	if (run->loop_depth > 0)
		top = run->loop_part[run->loop_depth - 1];
	else
		top = sieve_run_mime(run);
	if (top == NULL)
		return 0;
	out[n++] = &top->header;
	if (NODE_HAS(node, TAG_ANYCHILD)) {
		for (p = mime_part_next(top, top); p != NULL && n < max; p = mime_part_next(p, top))
			out[n++] = &p->header;
	}
	return n;
}

/*
 * RFC 5260 6: with :index, the fields of all the names given form one list
 * (in the order of the names, as Pigeonhole counts them) and only the
 * fieldno'th one, from the end with :last, is tested.
 */
static int fields_of_names(struct sieve_run *run, const struct sieve_node *node, char *const *names,
                           size_t nnames, sieve_field_fn *fn, void *ctx)
{
	const struct message_header *hdrs[512];
	struct sieve_arg *index = sieve_node_tag(node, TAG_INDEX);
	size_t nh = node_headers(run, node, hdrs, ARRAY_SIZE(hdrs)), h, i, k;
	const struct message_field *f;
	int r;

	for (h = 0; h < nh; h++) {
		if (index != NULL) {
			size_t total = 0;
			uint64_t want = index->number;
			for (k = 0; k < nnames; k++)
				total += message_header_count(hdrs[h], names[k]);
			if (want == 0 || want > total)
				continue;
			want = NODE_HAS(node, TAG_LAST) ? total - want : want - 1;
			for (k = 0; k < nnames; k++) {
				size_t count = message_header_count(hdrs[h], names[k]);
				if (want < count) {
					f = message_header_get(hdrs[h], names[k], want);
					if ((r = fn(run, ctx, f)) != 0)
						return r;
					break;
				}
				want -= count;
			}
			continue;
		}
		for (k = 0; k < nnames; k++) {
			for (i = 0; (f = message_header_get(hdrs[h], names[k], i)) != NULL; i++) {
				if ((r = fn(run, ctx, f)) != 0)
					return r;
			}
		}
	}
	return 0;
}

int sieve_for_each_field(struct sieve_run *run, const struct sieve_node *node,
                         const struct sieve_arg *names, sieve_field_fn *fn, void *ctx)
{
	char **expanded = xcalloc(names->nstrs + 1, sizeof(char *));
	size_t i;
	int r;

	for (i = 0; i < names->nstrs; i++)
		expanded[i] = sieve_expand_dup(run, &names->strs[i]);
	r = fields_of_names(run, node, expanded, names->nstrs, fn, ctx);
	for (i = 0; i < names->nstrs; i++)
		free(expanded[i]);
	free(expanded);
	return r;
}

static int check_mime_tags(struct sieve_vctx *vc, struct sieve_node *node)
{
	static const int needs_mime[] = {TAG_ANYCHILD, TAG_TYPE, TAG_SUBTYPE, TAG_CONTENTTYPE,
	                                 TAG_PARAM};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(needs_mime); i++) {
		if (NODE_HAS(node, needs_mime[i]) && !NODE_HAS(node, TAG_MIME))
			return sieve_vc_error(vc, node->line, node->column, ":%s needs :mime",
			                      sieve_tag_defs[needs_mime[i]].name);
	}
	if (NODE_HAS(node, TAG_LAST) && !NODE_HAS(node, TAG_INDEX))
		return sieve_vc_error(vc, node->line, node->column, ":last needs :index");
	return 0;
}

SIEVE_VALIDATE(header)
{
	return check_mime_tags(vc, node);
}

SIEVE_VALIDATE(address)
{
	struct sieve_arg *names = node->pos[0];
	size_t i, j;

	if (check_mime_tags(vc, node) < 0)
		return -1;
	for (i = 0; i < names->nstrs; i++) {
		if (!names->strs[i].is_const)
			continue;
		for (j = 0; j < ARRAY_SIZE(address_headers); j++) {
			if (strcasecmp(names->strs[i].data, address_headers[j]) == 0)
				break;
		}
		if (j == ARRAY_SIZE(address_headers))
			return sieve_vc_error(vc, names->strs[i].line, names->strs[i].column,
			                      "the address test cannot use header '%s'",
			                      names->strs[i].data);
	}
	return 0;
}

SIEVE_VALIDATE(envelope)
{
	struct sieve_arg *parts = node->pos[0];
	size_t i;

	for (i = 0; i < parts->nstrs; i++) {
		const char *p = parts->strs[i].data;
		if (parts->strs[i].is_const && strcasecmp(p, "from") != 0 &&
		    strcasecmp(p, "to") != 0 && strcasecmp(p, "auth") != 0)
			return sieve_vc_error(vc, parts->strs[i].line, parts->strs[i].column,
			                      "unknown envelope part '%s'", p);
	}
	return 0;
}

SIEVE_VALIDATE(size)
{
	if (!NODE_HAS(node, TAG_OVER) && !NODE_HAS(node, TAG_UNDER))
		return sieve_vc_error(vc, node->line, node->column, "size needs :over or :under");
	return 0;
}

struct header_ctx {
	struct sieve_matcher *m;
	const struct sieve_node *node;
	struct sbuf value;
};

/* RFC 5703 4.2: :type, :subtype, :contenttype and :param of Content-Type/-Disposition. */
static int offer_mime_option(struct header_ctx *hc, const struct message_field *f)
{
	const struct sieve_node *node = hc->node;
	struct mime_content_type ct;
	struct sbuf tmp = {0};
	int disposition = strcasecmp(f->name, "content-disposition") == 0, r = 0;
	size_t i;

	if (disposition)
		sbuf_append_str(&tmp, "x/");
	sbuf_append(&tmp, f->value, f->value_len);
	if (mime_content_type_parse(tmp.data, tmp.len, &ct) < 0) {
		sbuf_free(&tmp);
		return 0;
	}
	sbuf_reset(&hc->value);
	sbuf_append(&hc->value, "", 0);
	if (NODE_HAS(node, TAG_TYPE)) {
		sbuf_append_str(&hc->value, disposition ? ct.subtype : ct.type);
		r = sieve_matcher_value(hc->m, hc->value.data, hc->value.len);
	} else if (NODE_HAS(node, TAG_SUBTYPE)) {
		sbuf_append_str(&hc->value, disposition ? "" : ct.subtype);
		r = sieve_matcher_value(hc->m, hc->value.data, hc->value.len);
	} else if (NODE_HAS(node, TAG_CONTENTTYPE)) {
		if (!disposition)
			sbuf_appendf(&hc->value, "%s/%s", ct.type, ct.subtype);
		r = sieve_matcher_value(hc->m, hc->value.data, hc->value.len);
	} else {
		struct sieve_arg *names = sieve_node_tag(node, TAG_PARAM);
		for (i = 0; i < names->nstrs && r == 0; i++) {
			const char *v = mime_content_type_param(&ct, names->strs[i].data);
			if (v != NULL)
				r = sieve_matcher_value(hc->m, v, strlen(v));
		}
	}
	mime_content_type_clear(&ct);
	sbuf_free(&tmp);
	return r;
}

static int header_value(struct sieve_run *run, void *ctx, const struct message_field *f)
{
	struct header_ctx *hc = ctx;

	(void)run;
	if (NODE_HAS(hc->node, TAG_TYPE) || NODE_HAS(hc->node, TAG_SUBTYPE) ||
	    NODE_HAS(hc->node, TAG_CONTENTTYPE) || NODE_HAS(hc->node, TAG_PARAM))
		return offer_mime_option(hc, f);
	sbuf_reset(&hc->value);
	sbuf_append(&hc->value, "", 0);
	mime_header_decode(f->value, f->value_len, &hc->value);
	return sieve_matcher_value(hc->m, hc->value.data, hc->value.len);
}

SIEVE_TEST(header)
{
	struct sieve_matcher m;
	struct header_ctx hc;

	memset(&hc, 0, sizeof(hc));
	hc.m = &m;
	hc.node = node;
	sieve_matcher_init(&m, run, node, node->pos[1]);
	sieve_for_each_field(run, node, node->pos[0], header_value, &hc);
	sbuf_free(&hc.value);
	return sieve_matcher_finish(&m);
}

/*
 * lib/addr.h gives the domain in lower case; tests compare it as written (an
 * i;octet comparison must see "Example.COM"), so take its spelling from the
 * text when it is there.
 */
static void domain_as_written(const char *raw, size_t len, char *domain)
{
	size_t dlen = strlen(domain), i;

	if (dlen == 0)
		return;
	for (i = 0; i + 1 + dlen <= len; i++) {
		if (raw[i] == '@' && strncasecmp(raw + i + 1, domain, dlen) == 0 &&
		    (i + 1 + dlen == len ||
		     !(raw[i + 1 + dlen] == '.' || raw[i + 1 + dlen] == '-' ||
		       (raw[i + 1 + dlen] >= '0' && raw[i + 1 + dlen] <= '9') ||
		       ((raw[i + 1 + dlen] | 0x20) >= 'a' && (raw[i + 1 + dlen] | 0x20) <= 'z')))) {
			memcpy(domain, raw + i + 1, dlen);
			return;
		}
	}
}

/* The local part for :localpart, :user and :detail: quoting undone. */
static void unquote_local(const char *local, char *out, size_t outsz)
{
	size_t i, n = 0;

	if (local[0] != '"') {
		snprintf(out, outsz, "%s", local);
		return;
	}
	for (i = 1; local[i] != '\0' && local[i] != '"' && n + 1 < outsz; i++) {
		if (local[i] == '\\' && local[i + 1] != '\0')
			i++;
		out[n++] = local[i];
	}
	out[n] = '\0';
}

static int address_value(struct sieve_run *run, void *ctx, const struct message_field *f)
{
	struct header_ctx *hc = ctx;
	struct addr_list it;
	struct addr_mailbox mb;
	const char *error;
	char local[ADDR_LOCAL_BUFSZ];
	int r;

	addr_list_init(&it, f->value, f->value_len, ADDR_SMTPUTF8 | ADDR_ALLOW_LITERAL, 1000);
	while ((r = addr_list_next(&it, &mb, &error)) != 0) {
		if (r < 0)
			continue; /* RFC 5228 2.7.4: an invalid address is not matched */
		if (sieve_run_charge(run, 1) < 0)
			return -1;
		domain_as_written(f->value, f->value_len, mb.addr.domain);
		if (hc->node->addrpart == AP_ALL)
			snprintf(local, sizeof(local), "%s", mb.addr.local);
		else
			unquote_local(mb.addr.local, local, sizeof(local));
		/* :count counts addresses, also those without the part (no :detail). */
		if (!sieve_address_part(run, hc->node->addrpart, local, mb.addr.domain,
		                        &hc->value)) {
			if (hc->node->match_type != MT_COUNT)
				continue;
			sbuf_reset(&hc->value);
			sbuf_append(&hc->value, "", 0);
		}
		if (sieve_matcher_value(hc->m, hc->value.data, hc->value.len) != 0)
			return 1;
	}
	return 0;
}

SIEVE_TEST(address)
{
	struct sieve_matcher m;
	struct header_ctx hc;

	memset(&hc, 0, sizeof(hc));
	hc.m = &m;
	hc.node = node;
	sieve_matcher_init(&m, run, node, node->pos[1]);
	sieve_for_each_field(run, node, node->pos[0], address_value, &hc);
	sbuf_free(&hc.value);
	return sieve_matcher_finish(&m);
}

SIEVE_TEST(envelope)
{
	const struct sieve_envelope *env = run->envelope;
	struct sieve_matcher m;
	struct sbuf part = {0}, value = {0};
	size_t i;

	sieve_matcher_init(&m, run, node, node->pos[1]);
	for (i = 0; i < node->pos[0]->nstrs && !m.matched && !m.error; i++) {
		const char *addr = NULL;
		struct mail_address a;
		const char *error;

		sieve_expand(run, &node->pos[0]->strs[i], &part);
		if (env != NULL && strcasecmp(sbuf_str(&part), "from") == 0)
			addr = env->from != NULL ? env->from : "";
		else if (env != NULL && strcasecmp(sbuf_str(&part), "to") == 0)
			addr = env->to;
		else if (env != NULL && strcasecmp(sbuf_str(&part), "auth") == 0)
			addr = env->auth;
		if (addr == NULL)
			continue;
		if (*addr == '\0') {
			/* RFC 5228 5.4: the null reverse-path is the empty string. */
			if (node->addrpart != AP_DETAIL || node->match_type == MT_COUNT)
				sieve_matcher_value(&m, "", 0);
			continue;
		}
		if (addr_parse_mailbox(addr, strlen(addr),
		                       ADDR_SMTPUTF8 | ADDR_ALLOW_LITERAL | ADDR_ALLOW_NO_DOMAIN,
		                       &a, &error) < 0)
			continue;
		domain_as_written(addr, strlen(addr), a.domain);
		if (sieve_address_part(run, node->addrpart, a.local, a.domain, &value) ||
		    node->match_type == MT_COUNT)
			sieve_matcher_value(&m, value.data, value.len);
	}
	sbuf_free(&part);
	sbuf_free(&value);
	return sieve_matcher_finish(&m);
}

static int field_exists(struct sieve_run *run, void *ctx, const struct message_field *f)
{
	(void)run;
	(void)ctx;
	(void)f;
	return 1;
}

SIEVE_TEST(exists)
{
	struct sbuf name = {0};
	size_t i;
	int r = 1;

	for (i = 0; i < node->pos[0]->nstrs && r == 1; i++) {
		char *one;
		sieve_expand(run, &node->pos[0]->strs[i], &name);
		one = name.data;
		r = fields_of_names(run, node, &one, 1, field_exists, NULL);
	}
	sbuf_free(&name);
	return r;
}

SIEVE_TEST(size)
{
	uint64_t limit = node->pos[0]->number, size = run->msg->size;

	return NODE_HAS(node, TAG_OVER) ? size > limit : size < limit;
}
