/*
 * imap_fetch_body.c: the bytes of a body section (RFC 3501 6.4.5, RFC
 * 9051 6.4.5) from a message parsed by lib/mime.c: part numbers walk
 * multiparts and step into message/rfc822 parts; HEADER, HEADER.FIELDS,
 * HEADER.FIELDS.NOT and TEXT apply to a message (the whole one, or one
 * inside a message/rfc822 part); MIME is a part's own header; BINARY
 * (RFC 3516) undoes the part's Content-Transfer-Encoding. Pure functions
 * over data already read.
 */
#include "imap_fetch.h"

#include "imap_envelope.h"
#include "message.h"

#include <string.h>
#include <strings.h>

bool imap_fetch_section_whole(const struct fetch_section *sec)
{
	return sec->nparts == 0 && sec->spec == SPEC_NONE;
}

bool imap_fetch_section_header_only(const struct fetch_section *sec)
{
	return sec->nparts == 0 && (sec->spec == SPEC_HEADER || sec->spec == SPEC_HEADER_FIELDS ||
				    sec->spec == SPEC_HEADER_FIELDS_NOT);
}

static bool is_type(const struct mime_part *p, const char *type, const char *subtype)
{
	return p->ct.type != NULL && strcmp(p->ct.type, type) == 0 &&
	       (subtype == NULL || (p->ct.subtype != NULL && strcmp(p->ct.subtype, subtype) == 0));
}

/* RFC 3501 6.4.5: the part a list of numbers names, or NULL. */
static const struct mime_part *find_part(const struct mime_part *root, const unsigned int *parts,
					 size_t n)
{
	const struct mime_part *cur = root;

	for (size_t i = 0; i < n; i++) {
		bool message = i == 0;

		if (i > 0 && is_type(cur, "message", "rfc822")) {
			/* the numbers go on inside the encapsulated message */
			if (cur->children == NULL)
				return NULL;
			cur = cur->children;
			message = true;
		}
		if (is_type(cur, "multipart", NULL)) {
			const struct mime_part *c = cur->children;

			for (unsigned int k = 1; c != NULL && k < parts[i]; k++)
				c = c->next;
			if (c == NULL)
				return NULL;
			cur = c;
		} else if (!(message && parts[i] == 1)) {
			/* a single-part message has part 1, its body; a leaf has none */
			return NULL;
		}
	}
	return cur;
}

/* HEADER.FIELDS [.NOT]: the writer the index's cache uses too (lib/imap_envelope.h). */
static void header_fields(const struct fetch_section *sec, const struct message_header *hdr,
			  struct sbuf *out)
{
	imap_header_fields(hdr, sec->fields, sec->nfields, sec->spec == SPEC_HEADER_FIELDS, out);
}

/* A header-only section from the start of a message, without a MIME tree. */
static enum section_result header_section(const struct fetch_section *sec, const char *data,
					  size_t size, struct sbuf *out)
{
	struct message_header hdr = {0};
	const char *error;
	size_t hsize = 0;

	if (message_header_parse(data, size, NULL, &hdr, &hsize, &error) < 0) {
		/* a header over the limits: give it as it is */
		sbuf_append(out, data, size);
		return SECTION_OK;
	}
	if (sec->spec == SPEC_HEADER)
		sbuf_append(out, data, hsize);
	else
		header_fields(sec, &hdr, out);
	message_header_clear(&hdr);
	return SECTION_OK;
}

enum section_result imap_fetch_section(const struct fetch_section *sec, const char *data,
				       size_t size, const struct mime_part *root, struct sbuf *out)
{
	const struct mime_part *p, *m;

	if (imap_fetch_section_whole(sec)) {
		sbuf_append(out, data, size);
		return SECTION_OK;
	}
	if (root == NULL)
		return header_section(sec, data, size, out);
	p = find_part(root, sec->part, sec->nparts);
	if (p == NULL)
		return SECTION_NIL;
	if (sec->kind != SECTION_BODY) {
		/* RFC 3516 4.2: the content with its transfer encoding undone */
		const char *enc = p->encoding;

		if (enc == NULL || strcmp(enc, "7bit") == 0 || strcmp(enc, "8bit") == 0 ||
		    strcmp(enc, "binary") == 0)
			sbuf_append(out, data + p->body_offset, p->body_len);
		else if (strcmp(enc, "base64") == 0)
			mime_base64_decode(data + p->body_offset, p->body_len, out);
		else if (strcmp(enc, "quoted-printable") == 0)
			mime_qp_decode(data + p->body_offset, p->body_len, out);
		else
			return SECTION_UNKNOWN_CTE;
		return SECTION_OK;
	}
	switch (sec->spec) {
	case SPEC_NONE:
		sbuf_append(out, data + p->body_offset, p->body_len);
		return SECTION_OK;
	case SPEC_MIME:
		sbuf_append(out, data + p->offset, p->body_offset - p->offset);
		return SECTION_OK;
	default:
		break;
	}
	/* HEADER, HEADER.FIELDS [.NOT], TEXT: of the message, or of a message/rfc822 part */
	if (sec->nparts == 0)
		m = root;
	else if (is_type(p, "message", "rfc822") && p->children != NULL)
		m = p->children;
	else
		return SECTION_NIL;
	if (sec->spec == SPEC_TEXT)
		sbuf_append(out, data + m->body_offset, m->body_len);
	else if (sec->spec == SPEC_HEADER)
		sbuf_append(out, data + m->offset, m->body_offset - m->offset);
	else
		header_fields(sec, &m->header, out);
	return SECTION_OK;
}
