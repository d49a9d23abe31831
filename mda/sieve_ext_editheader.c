/*
 * sieve_ext_editheader.c: addheader and deleteheader (RFC 5293). Changes go
 * to a copy of the message header that later tests read and that actions
 * carry (struct sieve_action.edited_header), never to the original.
 *
 * Received and Auto-Submitted fields are protected from deletion (RFC 5293
 * 9 recommends it for trace fields; Auto-Submitted stops reply loops):
 * deleting them is silently skipped. Field names must be valid (RFC 5322
 * 3.6.8), values valid UTF-8 of bounded size, and the number of edits per
 * run is limited.
 */
#include "sieve_private.h"
#include "sieve_commands.h"
#include "log.h"

#include <string.h>

#define EDITHEADER_MAX_VALUE 8192

static const char *const protected_fields[] = {"received", "auto-submitted"};

static int field_protected(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(protected_fields); i++) {
		if (strcasecmp(name, protected_fields[i]) == 0)
			return 1;
	}
	return 0;
}

static int check_name(struct sieve_vctx *vc, const struct sieve_string *s)
{
	if (s->is_const && !message_field_name_valid(s->data, s->len))
		return sieve_vc_error(vc, s->line, s->column, "invalid header field name '%s'",
		                      s->data);
	return 0;
}

SIEVE_VALIDATE(addheader)
{
	const struct sieve_string *value = &node->pos[1]->strs[0];

	if (check_name(vc, &node->pos[0]->strs[0]) < 0)
		return -1;
	if (value->is_const && !sieve_utf8_valid(value->data, value->len))
		return sieve_vc_error(vc, value->line, value->column,
		                      "addheader: the value is not valid UTF-8");
	return 0;
}

SIEVE_VALIDATE(deleteheader)
{
	/* :last without :index selects nothing more than no :index does (accepted, as in
	   Pigeonhole). */
	return check_name(vc, &node->pos[0]->strs[0]);
}

static struct message_header *edited(struct sieve_run *run)
{
	if (run->edited == NULL) {
		run->edited = xmalloc(sizeof(*run->edited));
		message_header_copy(run->edited, &run->msg->header);
	}
	return run->edited;
}

static int count_edit(struct sieve_run *run)
{
	if (run->header_edits >= run->env->limits.max_header_edits)
		return sieve_run_error(run, "too many header changes (at most %u)",
		                       run->env->limits.max_header_edits);
	run->header_edits++;
	return 0;
}

SIEVE_EXEC(addheader)
{
	struct sbuf name = {0}, value = {0};
	struct message_header *hdr;
	int r = EXEC_OK;

	sieve_expand(run, &node->pos[0]->strs[0], &name);
	sieve_expand(run, &node->pos[1]->strs[0], &value);
	if (!message_field_name_valid(name.data, name.len))
		r = sieve_run_error(run, "addheader: invalid header field name");
	else if (value.len > EDITHEADER_MAX_VALUE || !sieve_utf8_valid(value.data, value.len) ||
	         memchr(value.data, '\0', value.len) != NULL)
		r = sieve_run_error(run, "addheader: invalid or too long value");
	else if (count_edit(run) == 0) {
		hdr = edited(run);
		/* RFC 5293 4: at the top by default, at the end with :last. */
		message_header_insert(hdr, NODE_HAS(node, TAG_LAST) ? hdr->count : 0, name.data,
		                      value.data, value.len);
	} else {
		r = EXEC_ERROR;
	}
	sbuf_free(&name);
	sbuf_free(&value);
	return r;
}

SIEVE_EXEC(deleteheader)
{
	struct sieve_arg *index = sieve_node_tag(node, TAG_INDEX);
	struct sbuf name = {0}, decoded = {0};
	struct message_header *hdr;
	size_t i, count, nth = 0, target = 0;
	int r = EXEC_OK;

	sieve_expand(run, &node->pos[0]->strs[0], &name);
	if (!message_field_name_valid(name.data, name.len)) {
		sbuf_free(&name);
		return sieve_run_error(run, "deleteheader: invalid header field name");
	}
	if (field_protected(name.data)) {
		log_info("sieve: deleteheader %s: protected field, not deleted", name.data);
		sbuf_free(&name);
		return EXEC_OK;
	}
	if (count_edit(run) < 0) {
		sbuf_free(&name);
		return EXEC_ERROR;
	}
	hdr = edited(run);
	count = message_header_count(hdr, name.data);
	if (index != NULL) {
		/* RFC 5293 6: :index counts occurrences of the name, from the end with :last. */
		if (index->number == 0 || index->number > count)
			goto out;
		target = NODE_HAS(node, TAG_LAST) ? count - index->number + 1 : index->number;
	}
	for (i = 0; i < hdr->count;) {
		struct message_field *f = &hdr->fields[i];
		int del = 1;
		if (!ascii_strncaseeq(f->name, f->name_len, name.data)) {
			i++;
			continue;
		}
		nth++;
		if (target != 0 && nth != target) {
			i++;
			continue;
		}
		if (node->npos > 1) {
			struct sieve_matcher m;
			sieve_matcher_init(&m, run, node, node->pos[1]);
			m.set_vars = 0;
			sbuf_reset(&decoded);
			sbuf_append(&decoded, "", 0);
			mime_header_decode(f->value, f->value_len, &decoded);
			sieve_matcher_value(&m, decoded.data, decoded.len);
			del = sieve_matcher_finish(&m);
			if (del < 0) {
				r = EXEC_ERROR;
				break;
			}
		}
		if (del)
			message_header_remove(hdr, i);
		else
			i++;
	}
out:
	sbuf_free(&name);
	sbuf_free(&decoded);
	return r;
}
