/*
 * sieve_result.c: the result of a run: actions added in execution order,
 * merged and checked for conflicts as they come, and printed in the line
 * format of sluice-sieve (shared/sieve/FORMAT.md), so sluice-lmtpd and the
 * tool get the same answer.
 *
 * Rules: stores into one mailbox merge (the first position, the last
 * flags); redirects to one address merge (local part compared exactly,
 * domain in lower case); a repeated store or redirect adds nothing, so it
 * does not cancel an implicit keep an earlier :copy left in effect (as in
 * Pigeonhole); discard appears once; reject conflicts with any
 * store, redirect or vacation (RFC 5429 2.1) and with a second reject;
 * a second vacation is an error; limits on actions and redirects are
 * runtime errors. The implicit keep (RFC 5228 2.10.2) is added at the end.
 */
#include "sieve_private.h"

#include <string.h>

int sieve_utf8_valid(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = mime_utf8_char_len(s + i, len - i);
		if (n == 1 && (unsigned char)s[i] >= 0x80)
			return 0;
		i += n;
	}
	return 1;
}

static size_t count_type(const struct sieve_result *r, enum sieve_action_type type)
{
	size_t i, n = 0;

	for (i = 0; i < r->count; i++) {
		if (r->actions[i].type == type)
			n++;
	}
	return n;
}

static int has_delivery(const struct sieve_result *r)
{
	return count_type(r, SIEVE_ACTION_KEEP) + count_type(r, SIEVE_ACTION_FILEINTO) +
	           count_type(r, SIEVE_ACTION_REDIRECT) >
	       0;
}

static int has_reject(const struct sieve_result *r)
{
	return count_type(r, SIEVE_ACTION_REJECT) + count_type(r, SIEVE_ACTION_EREJECT) > 0;
}

static struct sieve_action *append(struct sieve_run *run, enum sieve_action_type type, int implicit)
{
	struct sieve_result *r = run->result;
	struct sieve_action *a;

	if (!implicit && r->count >= run->env->limits.max_actions) {
		sieve_run_error(run, "too many actions (at most %u)", run->env->limits.max_actions);
		return NULL;
	}
	r->actions = xrealloc(r->actions, (r->count + 1) * sizeof(*r->actions));
	a = &r->actions[r->count++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->implicit = implicit;
	a->line = implicit ? 0 : run->line;
	return a;
}

static void set_header_snapshot(struct sieve_run *run, struct sieve_action *a)
{
	if (a->edited_header != NULL) {
		message_header_clear(a->edited_header);
		free(a->edited_header);
		a->edited_header = NULL;
	}
	if (run->edited != NULL) {
		a->edited_header = xmalloc(sizeof(*a->edited_header));
		message_header_copy(a->edited_header, run->edited);
	}
}

static void set_flags(struct sieve_action *a, const char *flags_set)
{
	size_t i;

	for (i = 0; i < a->nflags; i++)
		free(a->flags[i]);
	free(a->flags);
	a->flags = sieve_flags_array(flags_set, &a->nflags);
}

static int store(struct sieve_run *run, const char *mailbox, int copy, int create,
                 const char *flags_set, int implicit)
{
	struct sieve_result *r = run->result;
	const char *def = run->env->default_mailbox;
	struct sieve_action *a = NULL;
	size_t i;

	if (!implicit && !sieve_utf8_valid(mailbox, strlen(mailbox)))
		return sieve_run_error(run, "mailbox name is not valid UTF-8");
	if (has_reject(r))
		return sieve_run_error(run, "reject conflicts with storing the message");
	for (i = 0; i < r->count; i++) {
		struct sieve_action *o = &r->actions[i];
		if ((o->type == SIEVE_ACTION_KEEP || o->type == SIEVE_ACTION_FILEINTO) &&
		    strcmp(o->mailbox, mailbox) == 0) {
			/* A repeated store adds nothing: like Pigeonhole, it does not cancel
			   the implicit keep that an earlier :copy store left in effect. */
			a = o;
			a->create = a->create || create;
			copy = 1;
			break;
		}
	}
	if (a == NULL) {
		a = append(run,
		           strcmp(mailbox, def) == 0 ? SIEVE_ACTION_KEEP : SIEVE_ACTION_FILEINTO,
		           implicit);
		if (a == NULL)
			return EXEC_ERROR;
		a->mailbox = xstrdup(mailbox);
		a->copy = copy;
		a->create = create;
	}
	if (implicit)
		r->implicit_keep = 1;
	set_flags(a, flags_set);
	set_header_snapshot(run, a);
	if (!copy)
		run->implicit_keep = 0;
	return EXEC_OK;
}

int sieve_result_add_store(struct sieve_run *run, const char *mailbox, int copy, int create,
                           const char *flags_set)
{
	return store(run, mailbox, copy, create, flags_set, 0);
}

int sieve_result_add_redirect(struct sieve_run *run, const char *address, int copy)
{
	struct sieve_result *r = run->result;
	struct sieve_action *a;
	size_t i;

	if (has_reject(r))
		return sieve_run_error(run, "reject conflicts with redirect");
	for (i = 0; i < r->count; i++) {
		if (r->actions[i].type == SIEVE_ACTION_REDIRECT &&
		    strcmp(r->actions[i].address, address) == 0) {
			/* A repeated redirect adds nothing, not even cancelling the keep. */
			set_header_snapshot(run, &r->actions[i]);
			return EXEC_OK;
		}
	}
	if (count_type(r, SIEVE_ACTION_REDIRECT) >= run->env->limits.max_redirects)
		return sieve_run_error(run, "too many redirects (at most %u)",
		                       run->env->limits.max_redirects);
	a = append(run, SIEVE_ACTION_REDIRECT, 0);
	if (a == NULL)
		return EXEC_ERROR;
	a->address = xstrdup(address);
	a->copy = copy;
	set_header_snapshot(run, a);
	if (!copy)
		run->implicit_keep = 0;
	return EXEC_OK;
}

int sieve_result_add_reject(struct sieve_run *run, const char *reason, int extended)
{
	struct sieve_result *r = run->result;
	struct sieve_action *a;

	if (has_reject(r))
		return sieve_run_error(run, "reject given twice");
	if (has_delivery(r))
		return sieve_run_error(run, "reject conflicts with keep, fileinto or redirect");
	if (count_type(r, SIEVE_ACTION_VACATION) > 0)
		return sieve_run_error(run, "reject conflicts with vacation");
	a = append(run, extended ? SIEVE_ACTION_EREJECT : SIEVE_ACTION_REJECT, 0);
	if (a == NULL)
		return EXEC_ERROR;
	a->reason = xstrdup(reason);
	run->implicit_keep = 0;
	return EXEC_OK;
}

int sieve_result_add_discard(struct sieve_run *run)
{
	run->implicit_keep = 0;
	if (count_type(run->result, SIEVE_ACTION_DISCARD) > 0)
		return EXEC_OK;
	return append(run, SIEVE_ACTION_DISCARD, 0) == NULL ? EXEC_ERROR : EXEC_OK;
}

int sieve_result_add_vacation(struct sieve_run *run, struct sieve_vacation *vac)
{
	struct sieve_action *a;

	if (count_type(run->result, SIEVE_ACTION_VACATION) > 0) {
		sieve_vacation_free(vac);
		return sieve_run_error(run, "vacation given twice");
	}
	if (has_reject(run->result)) {
		sieve_vacation_free(vac);
		return sieve_run_error(run, "reject conflicts with vacation");
	}
	a = append(run, SIEVE_ACTION_VACATION, 0);
	if (a == NULL) {
		sieve_vacation_free(vac);
		return EXEC_ERROR;
	}
	a->vacation = vac;
	return EXEC_OK;
}

int sieve_result_add_notify(struct sieve_run *run, struct sieve_notify *notify)
{
	struct sieve_result *r = run->result;
	struct sieve_action *a;
	size_t i;

	/* RFC 5435 3.6: the same notification twice is sent once. */
	for (i = 0; i < r->count; i++) {
		if (r->actions[i].type == SIEVE_ACTION_NOTIFY &&
		    strcmp(r->actions[i].notify->method, notify->method) == 0 &&
		    strcmp(r->actions[i].notify->message, notify->message) == 0) {
			sieve_notify_free(notify);
			return EXEC_OK;
		}
	}
	a = append(run, SIEVE_ACTION_NOTIFY, 0);
	if (a == NULL) {
		sieve_notify_free(notify);
		return EXEC_ERROR;
	}
	a->notify = notify;
	return EXEC_OK;
}

void sieve_result_add_duplicate(struct sieve_run *run, const char *handle, const char *id,
                                uint64_t seconds, int last)
{
	struct sieve_result *r = run->result;
	struct sieve_duplicate_mark *d;

	if (r->nduplicates >= run->env->limits.max_actions)
		return;
	r->duplicates = xrealloc(r->duplicates, (r->nduplicates + 1) * sizeof(*r->duplicates));
	d = &r->duplicates[r->nduplicates++];
	d->handle = xstrdup(handle);
	d->id = xstrdup(id);
	d->seconds = seconds;
	d->last = last;
}

int sieve_result_finish(struct sieve_run *run)
{
	size_t i;

	for (i = 0; i < run->result->count; i++) {
		if (run->result->actions[i].type == SIEVE_ACTION_VACATION)
			sieve_vacation_decide(run, run->result->actions[i].vacation);
	}
	if (!run->implicit_keep)
		return EXEC_OK;
	return store(run, run->env->default_mailbox, 0, 0, sbuf_str(&run->flags), 1);
}

void sieve_vacation_free(struct sieve_vacation *v)
{
	if (v == NULL)
		return;
	free(v->to);
	free(v->from);
	free(v->from_address);
	free(v->subject);
	free(v->reason);
	free(v->handle);
	for (size_t i = 0; i < v->naddresses; i++)
		free(v->addresses[i]);
	free(v->addresses);
	free(v->in_reply_to);
	free(v->references);
	free(v);
}

void sieve_notify_free(struct sieve_notify *n)
{
	size_t i;

	if (n == NULL)
		return;
	free(n->method);
	free(n->from);
	for (i = 0; i < n->noptions; i++)
		free(n->options[i]);
	free(n->options);
	free(n->message);
	for (i = 0; i < n->nrecipients; i++)
		free(n->recipients[i]);
	free(n->recipients);
	free(n->subject);
	free(n->body);
	free(n);
}

static void action_clear(struct sieve_action *a)
{
	size_t i;

	free(a->mailbox);
	for (i = 0; i < a->nflags; i++)
		free(a->flags[i]);
	free(a->flags);
	free(a->address);
	free(a->reason);
	sieve_vacation_free(a->vacation);
	sieve_notify_free(a->notify);
	if (a->edited_header != NULL) {
		message_header_clear(a->edited_header);
		free(a->edited_header);
	}
}

/* Drop every action (after a runtime error: the caller keeps the message). */
void sieve_result_drop_actions(struct sieve_result *r)
{
	size_t i;

	for (i = 0; i < r->count; i++)
		action_clear(&r->actions[i]);
	free(r->actions);
	r->actions = NULL;
	r->count = 0;
	r->implicit_keep = 0;
	for (i = 0; i < r->nduplicates; i++) {
		free(r->duplicates[i].handle);
		free(r->duplicates[i].id);
	}
	free(r->duplicates);
	r->duplicates = NULL;
	r->nduplicates = 0;
}

void sieve_result_free(struct sieve_result **rp)
{
	struct sieve_result *r = *rp;

	if (r == NULL)
		return;
	sieve_result_drop_actions(r);
	free(r->error);
	free(r);
	*rp = NULL;
}

/* FORMAT.md "Strings": CRLF as LF, then C-style escapes and \xHH. */
static void quote(struct sbuf *out, const char *s)
{
	size_t i;

	sbuf_append_str(out, "\"");
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' && s[i + 1] == '\n')
			continue;
		if (c == '\\')
			sbuf_append_str(out, "\\\\");
		else if (c == '"')
			sbuf_append_str(out, "\\\"");
		else if (c == '\n')
			sbuf_append_str(out, "\\n");
		else if (c == '\r')
			sbuf_append_str(out, "\\r");
		else if (c == '\t')
			sbuf_append_str(out, "\\t");
		else if (c < 0x20 || c == 0x7f)
			sbuf_appendf(out, "\\x%02X", c);
		else
			sbuf_append(out, &s[i], 1);
	}
	sbuf_append_str(out, "\"");
}

void sieve_result_format(const struct sieve_result *r, const char *default_mailbox,
                         struct sbuf *out)
{
	size_t i, j;

	if (r->failed) {
		sbuf_append_str(out, "error runtime\n");
		return;
	}
	for (i = 0; i < r->count; i++) {
		const struct sieve_action *a = &r->actions[i];
		const struct sieve_vacation *v = a->vacation;

		switch (a->type) {
		case SIEVE_ACTION_KEEP:
		case SIEVE_ACTION_FILEINTO:
			if (strcmp(a->mailbox, default_mailbox) == 0) {
				sbuf_append_str(out, "keep");
			} else {
				sbuf_append_str(out, "fileinto ");
				quote(out, a->mailbox);
			}
			for (j = 0; j < a->nflags; j++)
				sbuf_appendf(out, " %s", a->flags[j]);
			break;
		case SIEVE_ACTION_REDIRECT:
			sbuf_append_str(out, "redirect ");
			quote(out, a->address);
			break;
		case SIEVE_ACTION_REJECT:
		case SIEVE_ACTION_EREJECT:
			sbuf_append_str(out, "reject ");
			quote(out, a->reason);
			break;
		case SIEVE_ACTION_DISCARD:
			sbuf_append_str(out, "discard");
			break;
		case SIEVE_ACTION_VACATION:
			if (!v->send)
				continue;
			sbuf_append_str(out, "vacation to=");
			quote(out, v->to);
			sbuf_append_str(out, " from=");
			quote(out, v->from_address);
			sbuf_append_str(out, " subject=");
			quote(out, v->subject);
			sbuf_appendf(out, " seconds=%llu reason=", (unsigned long long)v->seconds);
			quote(out, v->reason);
			break;
		case SIEVE_ACTION_NOTIFY:
			continue;
		}
		sbuf_append_str(out, "\n");
	}
}
