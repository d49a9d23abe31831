/*
 * sieve_ext_editheader.c: addheader and deleteheader (RFC 5293). Changes go
 * to a copy of the message header that later tests read and that actions
 * carry (struct sieve_action.edited_header), never to the original.
 *
 * Received and Auto-Submitted fields are protected from deletion (RFC 5293
 * 6): deleting them is silently skipped. Field names must be valid (RFC 5322
 * 3.6.8), values valid UTF-8 of bounded size, and the number of edits per
 * run is limited. A value that is not RFC 5322 "unstructured" text (non-ASCII,
 * control characters, an overlong word) is written with RFC 2047
 * encoded-words (RFC 5293 4); tests and deleteheader see it decoded again.
 */
#include "sieve_private.h"
#include "sieve_commands.h"
#include "log.h"
#include "mime.h"

#include <string.h>

#define EDITHEADER_MAX_VALUE 8192
/* RFC 5322 2.1.1: lines of at most 998 characters; a longer word is encoded to be split. */
#define EDITHEADER_MAX_WORD 900

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

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * A word that cannot stay as it is in an unstructured value (RFC 5322
 * 3.2.5): non-ASCII or control characters, "=?" that a reader would take for
 * an encoded-word, or too long for a line.
 */
static int word_needs_encoding(const char *w, size_t len)
{
	size_t i;

	if (len > EDITHEADER_MAX_WORD)
		return 1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)w[i];

		if (c < 0x20 || c >= 0x7f || (c == '=' && i + 1 < len && w[i + 1] == '?'))
			return 1;
	}
	return 0;
}

/*
 * One line of a value: the words from the first to the last that need it
 * become encoded-words (the white space between them is encoded with them);
 * the text before and after stays readable. lead: characters before s on
 * its line when s is the first line ("Name: "), else 0.
 */
static void encode_line(const char *s, size_t len, size_t lead, struct sbuf *out)
{
	size_t first_max = MIME_ENCODED_TEXT_MAX;
	size_t i = 0, first = len, last = 0;

	while (i < len) {
		size_t w;

		if (is_wsp(s[i])) {
			i++;
			continue;
		}
		for (w = i; w < len && !is_wsp(s[w]); w++)
			;
		if (word_needs_encoding(s + i, w - i)) {
			if (first == len)
				first = i;
			last = w;
		}
		i = w;
	}
	if (first == len) {
		sbuf_append(out, s, len);
		return;
	}
	/*
	 * message_header_insert() folds before a word that would pass 76
	 * characters, but not before the first one of the value: that one is
	 * made short enough to fit the name's line (RFC 2047 2) where it can be.
	 */
	for (i = 0; i < first && is_wsp(s[i]); i++)
		;
	if (lead > 0 && i == first && lead + first + 12 + 12 <= 76)
		first_max = 76 - lead - first - 12;
	if (first_max > MIME_ENCODED_TEXT_MAX)
		first_max = MIME_ENCODED_TEXT_MAX;
	sbuf_append(out, s, first);
	mime_header_encode(s + first, last - first, first_max, " ", out);
	sbuf_append(out, s + last, len - last);
}

/*
 * RFC 5293 4: a value that is not "unstructured" is encoded "using folding
 * white space and the encodings described in [MIME3]". Line breaks (CRLF or
 * LF) stay line breaks, which message_header_insert() turns into folds;
 * each line is encoded by itself.
 */
static void encode_value(const char *name, const char *s, size_t len, struct sbuf *out)
{
	size_t pos = 0, lead = strlen(name) + 2;

	if (len == 0)
		return;
	while (pos <= len) {
		const char *nl = memchr(s + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - s) : len;
		size_t text_end = end;

		if (nl != NULL && text_end > pos && s[text_end - 1] == '\r')
			text_end--;
		encode_line(s + pos, text_end - pos, lead, out);
		lead = 0;
		if (nl == NULL)
			break;
		sbuf_append_str(out, "\n");
		pos = end + 1;
	}
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
	struct sbuf name = {0}, value = {0}, encoded = {0};
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
		encode_value(name.data, value.data, value.len, &encoded);
		/* RFC 5293 4: at the top by default, at the end with :last. */
		message_header_insert(hdr, NODE_HAS(node, TAG_LAST) ? hdr->count : 0, name.data,
		                      sbuf_str(&encoded), encoded.len);
	} else {
		r = EXEC_ERROR;
	}
	sbuf_free(&name);
	sbuf_free(&value);
	sbuf_free(&encoded);
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
