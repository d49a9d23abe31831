/*
 * sieve_ext_vacation.c: the vacation action (RFC 5230) and :seconds
 * (RFC 6131). The action always enters the result (so conflicts are found);
 * whether the reply is really sent is decided here by the rules of RFC 5230
 * 4.5/4.6 and RFC 3834: never to the null sender, to our own addresses, to
 * system addresses (MAILER-DAEMON, LISTSERV, majordomo, owner-*, *-request),
 * to auto-submitted, bulk/list/junk or mailing-list mail, nor when the
 * recipient (or an :addresses entry) is not in To/Cc/Bcc/Resent-*, and once
 * per sender and handle per period (the caller's database).
 *
 * Checks on the envelope run with the command; checks on the header run at
 * the end of the script, on the header as editheader left it (the reply is
 * made then), while the subject and references come from the message as it
 * arrived. The reply carries In-Reply-To and References; the caller builds
 * it with Auto-Submitted: auto-replied.
 */
#include "sieve_private.h"
#include "sieve_commands.h"
#include "addr.h"

#include <string.h>

static const char *const recipient_headers[] = {"to",        "cc",        "bcc",
                                                "resent-to", "resent-cc", "resent-bcc"};
static const char *const list_headers[] = {"list-id",          "list-owner", "list-subscribe",
                                           "list-unsubscribe", "list-post",  "list-help",
                                           "list-archive"};

SIEVE_VALIDATE(vacation)
{
	struct sieve_arg *from = sieve_node_tag(node, TAG_FROM);
	struct sieve_arg *addrs = sieve_node_tag(node, TAG_ADDRESSES);
	char buf[512];
	size_t i;

	if (from != NULL && from->strs[0].is_const &&
	    sieve_address_normalize(from->strs[0].data, from->strs[0].len, buf, sizeof(buf)) < 0)
		return sieve_vc_error(vc, from->line, from->column,
		                      "vacation :from is not a valid address");
	for (i = 0; addrs != NULL && i < addrs->nstrs; i++) {
		if (addrs->strs[i].is_const &&
		    sieve_address_normalize(addrs->strs[i].data, addrs->strs[i].len, buf,
		                            sizeof(buf)) < 0)
			return sieve_vc_error(vc, addrs->strs[i].line, addrs->strs[i].column,
			                      "vacation :addresses has an invalid address '%s'",
			                      addrs->strs[i].data);
	}
	return 0;
}

/* The reply's subject is at most this many characters, the last one "…"
   when it was cut (as Pigeonhole does). */
#define VACATION_SUBJECT_MAX 256

static char *trim_dup(const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
	                   s[len - 1] == '\n'))
		len--;
	return xstrndup(s, len);
}

static void cut_subject(struct sieve_vacation *v)
{
	size_t i = 0, chars = 0, len = strlen(v->subject);

	while (i < len && chars < VACATION_SUBJECT_MAX - 1) {
		i += mime_utf8_char_len(v->subject + i, len - i);
		chars++;
	}
	if (i < len && (i + mime_utf8_char_len(v->subject + i, len - i)) < len) {
		v->subject = xrealloc(v->subject, i + 4);
		memcpy(v->subject + i, "\xe2\x80\xa6", 4); /* U+2026 and the NUL */
	}
}

/* RFC 5230 4.6 and common practice: addresses that never get auto-replies. */
static int system_address(const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t len = at != NULL ? (size_t)(at - addr) : strlen(addr);

	if (ascii_strncaseeq(addr, len, "mailer-daemon") ||
	    ascii_strncaseeq(addr, len, "listserv") || ascii_strncaseeq(addr, len, "majordomo"))
		return 1;
	if (len >= 6 && strncmp(addr, "owner-", 6) == 0)
		return 1;
	return len >= 8 && strncmp(addr + len - 8, "-request", 8) == 0;
}

/* Is `want` (normalized) among the addresses of the recipient fields? */
static int addressed_to(const struct message_header *hdr, const char *want)
{
	const struct message_field *f;
	struct addr_list it;
	struct addr_mailbox mb;
	const char *error;
	char buf[ADDR_BUFSZ];
	size_t h, i;
	int r;

	for (h = 0; h < ARRAY_SIZE(recipient_headers); h++) {
		for (i = 0; (f = message_header_get(hdr, recipient_headers[h], i)) != NULL; i++) {
			addr_list_init(&it, f->value, f->value_len,
			               ADDR_SMTPUTF8 | ADDR_ALLOW_LITERAL, 1000);
			while ((r = addr_list_next(&it, &mb, &error)) != 0) {
				if (r < 0)
					continue;
				addr_format(&mb.addr, buf);
				if (strcasecmp(buf, want) == 0)
					return 1;
			}
		}
	}
	return 0;
}

/* When the command runs: the checks on the envelope (RFC 5230 4.5, 4.6). */
static void check_envelope(struct sieve_run *run, struct sieve_vacation *v)
{
	const char *me = run->envelope != NULL ? run->envelope->to : NULL;
	char mine[512];
	size_t i;

	v->send = 0;
	if (v->to == NULL || *v->to == '\0') {
		v->suppress_reason = "null sender";
		return;
	}
	if (me != NULL && sieve_address_normalize(me, strlen(me), mine, sizeof(mine)) == 0 &&
	    strcasecmp(mine, v->to) == 0) {
		v->suppress_reason = "reply to own address";
		return;
	}
	for (i = 0; i < v->naddresses; i++) {
		if (strcasecmp(v->addresses[i], v->to) == 0) {
			v->suppress_reason = "reply to own address";
			return;
		}
	}
	if (system_address(v->to)) {
		v->suppress_reason = "sender is a system address";
		return;
	}
	v->send = 1;
}

/*
 * When the run ends: the checks on the header. Like Pigeonhole, they see the
 * header as editheader left it at the end of the script (the reply is made
 * then), while the subject and references come from the message as received.
 */
void sieve_vacation_decide(struct sieve_run *run, struct sieve_vacation *v)
{
	const struct message_header *hdr = sieve_run_header(run);
	const struct message_field *f;
	const char *me = run->envelope != NULL ? run->envelope->to : NULL;
	const char *orig = run->envelope != NULL ? run->envelope->orig_to : NULL;
	char mine[512];
	size_t i;

	if (!v->send)
		goto out;
	v->send = 0;
	f = message_header_get(hdr, "auto-submitted", 0);
	if (f != NULL && !(f->value_len >= 2 && ascii_strncaseeq(f->value, 2, "no") &&
	                   (f->value_len == 2 || f->value[2] == ' ' || f->value[2] == ';' ||
	                    f->value[2] == '('))) {
		v->suppress_reason = "auto-submitted message";
		goto out;
	}
	f = message_header_get(hdr, "precedence", 0);
	if (f != NULL && (ascii_strncaseeq(f->value, f->value_len, "bulk") ||
	                  ascii_strncaseeq(f->value, f->value_len, "list") ||
	                  ascii_strncaseeq(f->value, f->value_len, "junk"))) {
		v->suppress_reason = "bulk, list or junk precedence";
		goto out;
	}
	for (i = 0; i < ARRAY_SIZE(list_headers); i++) {
		if (message_header_get(hdr, list_headers[i], 0) != NULL) {
			v->suppress_reason = "mailing list message";
			goto out;
		}
	}
	f = message_header_get(hdr, "x-auto-response-suppress", 0);
	if (f != NULL &&
	    (strcasestr(f->value, "all") != NULL || strcasestr(f->value, "oof") != NULL)) {
		v->suppress_reason = "auto responses suppressed by the sender";
		goto out;
	}
	/* RFC 5230 4.5: only when we are an explicit recipient (the envelope
	   recipient, the original recipient or an :addresses entry); the reply
	   comes from the address that matched. */
	if (me != NULL && *me != '\0' &&
	    sieve_address_normalize(me, strlen(me), mine, sizeof(mine)) == 0 &&
	    addressed_to(hdr, mine)) {
		if (v->from_address == NULL)
			v->from_address = xstrdup(me);
	} else if (orig != NULL && *orig != '\0' &&
	           sieve_address_normalize(orig, strlen(orig), mine, sizeof(mine)) == 0 &&
	           addressed_to(hdr, mine)) {
		if (v->from_address == NULL)
			v->from_address = xstrdup(orig);
	} else {
		for (i = 0; i < v->naddresses && !addressed_to(hdr, v->addresses[i]); i++)
			;
		if (i == v->naddresses) {
			v->suppress_reason = "not addressed to the recipient";
			goto out;
		}
		if (v->from_address == NULL)
			v->from_address = xstrdup(v->addresses[i]);
	}
	if (run->env->vacation_replied != NULL &&
	    run->env->vacation_replied(run->env->ctx, v->to, v->handle, v->seconds) > 0) {
		v->suppress_reason = "already replied to this sender";
		goto out;
	}
	v->send = 1;
out:
	if (v->from_address == NULL)
		v->from_address = xstrdup(me != NULL ? me : "");
	if (v->from == NULL)
		v->from = xstrdup(v->from_address);
}

SIEVE_EXEC(vacation)
{
	const struct sieve_limits *lim = &run->env->limits;
	/* The reply answers the message as it came in, whatever editheader did. */
	const struct message_header *hdr = &run->msg->header;
	struct sieve_arg *a;
	struct sieve_vacation *v = xcalloc(1, sizeof(*v));
	const struct message_field *f;
	struct sbuf tmp = {0};
	char buf[512];
	size_t i;

	v->reason = sieve_expand_dup(run, &node->pos[0]->strs[0]);
	v->mime = NODE_HAS(node, TAG_MIME);
	/* RFC 5230 4.1, RFC 6131: the period, within the configured bounds. */
	if ((a = sieve_node_tag(node, TAG_DAYS)) != NULL)
		v->seconds = a->number > UINT64_MAX / 86400 ? UINT64_MAX : a->number * 86400;
	else if ((a = sieve_node_tag(node, TAG_SECONDS)) != NULL)
		v->seconds = a->number;
	else
		v->seconds = lim->vacation_default_period;
	if (v->seconds < lim->vacation_min_period)
		v->seconds = lim->vacation_min_period;
	if (lim->vacation_max_period > 0 && v->seconds > lim->vacation_max_period)
		v->seconds = lim->vacation_max_period;
	if ((a = sieve_node_tag(node, TAG_SUBJECT)) != NULL) {
		sieve_expand(run, &a->strs[0], &tmp);
		v->subject = trim_dup(sbuf_str(&tmp), tmp.len);
	} else if ((f = message_header_get(hdr, "subject", 0)) != NULL) {
		sbuf_reset(&tmp);
		sbuf_append_str(&tmp, "Auto: ");
		mime_header_decode(f->value, f->value_len, &tmp);
		v->subject = trim_dup(sbuf_str(&tmp), tmp.len);
	} else {
		v->subject = xstrdup("Automated reply");
	}
	cut_subject(v);
	if ((a = sieve_node_tag(node, TAG_FROM)) != NULL) {
		v->from = sieve_expand_dup(run, &a->strs[0]);
		if (sieve_address_normalize(v->from, strlen(v->from), buf, sizeof(buf)) == 0) {
			v->from_address = xstrdup(buf);
		} else {
			free(v->from);
			v->from = NULL;
		}
	}
	if ((a = sieve_node_tag(node, TAG_ADDRESSES)) != NULL) {
		for (i = 0; i < a->nstrs; i++) {
			sieve_expand(run, &a->strs[i], &tmp);
			if (sieve_address_normalize(sbuf_str(&tmp), tmp.len, buf, sizeof(buf)) < 0)
				continue;
			v->addresses = xrealloc(v->addresses, (v->naddresses + 1) * sizeof(char *));
			v->addresses[v->naddresses++] = xstrdup(buf);
		}
	}
	if ((a = sieve_node_tag(node, TAG_HANDLE)) != NULL) {
		v->handle = sieve_expand_dup(run, &a->strs[0]);
	} else {
		/* RFC 5230 4.2: by default the handle follows the reply's content. */
		sbuf_reset(&tmp);
		sbuf_appendf(&tmp, "%s\n%s\n%s\n%d", v->reason,
		             sieve_node_tag(node, TAG_SUBJECT) != NULL ? v->subject : "",
		             v->from != NULL ? v->from : "", v->mime);
		v->handle = xstrdup(sbuf_str(&tmp));
	}
	v->to = xstrdup(run->envelope != NULL && run->envelope->from != NULL ? run->envelope->from
	                                                                     : "");
	if ((f = message_header_get(hdr, "message-id", 0)) != NULL && f->value_len > 0) {
		v->in_reply_to = xstrndup(f->value, f->value_len);
		sbuf_reset(&tmp);
		sbuf_append(&tmp, "", 0);
		if ((f = message_header_get(hdr, "references", 0)) != NULL && f->value_len > 0)
			sbuf_appendf(&tmp, "%s ", f->value);
		sbuf_append_str(&tmp, v->in_reply_to);
		v->references = xstrdup(sbuf_str(&tmp));
	}
	check_envelope(run, v);
	sbuf_free(&tmp);
	return sieve_result_add_vacation(run, v);
}
