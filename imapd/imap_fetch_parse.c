/*
 * imap_fetch_parse.c: FETCH items into a struct fetch_request (see
 * imap_fetch.h): the macros ALL, FAST and FULL, the simple items, body
 * sections with their part numbers, HEADER.FIELDS lists and partial
 * ranges (RFC 3501 6.4.5, 9 "fetch-att"), BINARY and BINARY.SIZE (RFC
 * 3516), MODSEQ and the CHANGEDSINCE / VANISHED modifiers (RFC 7162).
 * Trust: the items come from the client; every number and list is checked.
 */
#include "imap_fetch.h"

#include "message.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* More sections than this in one FETCH is not a real client. */
#define FETCH_MAX_SECTIONS 64
#define FETCH_MAX_FIELDS 256

static struct fetch_section *add_section(struct fetch_request *req)
{
	struct fetch_section *s;

	req->sections = xrealloc(req->sections, (req->nsections + 1) * sizeof(*req->sections));
	s = &req->sections[req->nsections++];
	memset(s, 0, sizeof(*s));
	return s;
}

/* The field names of "(From "To" x-spam)", upper case. */
static int parse_fields(const char *text, size_t len, struct fetch_section *s)
{
	struct imap_parser_limits lim = {.max_line = len + 16, .max_command = len + 16,
					 .max_depth = 1, .max_args = FETCH_MAX_FIELDS + 1};
	struct imap_parser *p = imap_parser_create(&lim);
	const struct imap_arg *v;
	const char *error;
	size_t n;
	int rc = -1;

	v = imap_parser_parse_values(p, text, len, &n, &error);
	if (v != NULL && n == 1 && v[0].type == IMAP_ARG_LIST && v[0].count > 0) {
		s->fields = xcalloc(v[0].count, sizeof(*s->fields));
		rc = 0;
		for (size_t i = 0; i < v[0].count && rc == 0; i++) {
			const char *name = imap_arg_astring(&v[0].list[i]);

			if (name == NULL || !message_field_name_valid(name, strlen(name))) {
				rc = -1;
				break;
			}
			s->fields[s->nfields] = xstrdup(name);
			for (char *c = s->fields[s->nfields]; *c != '\0'; c++)
				*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
			s->nfields++;
		}
	}
	imap_parser_destroy(&p);
	return rc;
}

/* The text between '[' and ']': parts, then a specifier. */
static int parse_section_spec(const char *t, size_t len, struct fetch_section *s)
{
	size_t i = 0;

	while (i < len && t[i] >= '0' && t[i] <= '9') {
		uint64_t v = 0;
		size_t start = i;

		while (i < len && t[i] >= '0' && t[i] <= '9' && v <= 0x7fffffff)
			v = v * 10 + (uint64_t)(t[i++] - '0');
		if (v == 0 || v > 0x7fffffff || t[start] == '0' || s->nparts == FETCH_MAX_PART_DEPTH)
			return -1;
		s->part[s->nparts++] = (unsigned int)v;
		if (i < len && t[i] == '.' && i + 1 < len && t[i + 1] >= '0' && t[i + 1] <= '9')
			i++;
		else
			break;
	}
	if (i == len)
		return 0;
	if (s->nparts > 0) {
		if (t[i] != '.')
			return -1;
		i++;
	}
	if (s->kind != SECTION_BODY)
		return -1; /* RFC 3516: BINARY sections are part numbers only */
	t += i;
	len -= i;
	if (ascii_strncaseeq(t, len, "HEADER")) {
		s->spec = SPEC_HEADER;
	} else if (ascii_strncaseeq(t, len, "TEXT")) {
		s->spec = SPEC_TEXT;
	} else if (ascii_strncaseeq(t, len, "MIME")) {
		if (s->nparts == 0)
			return -1;
		s->spec = SPEC_MIME;
	} else if (len > 18 && strncasecmp(t, "HEADER.FIELDS.NOT ", 18) == 0) {
		s->spec = SPEC_HEADER_FIELDS_NOT;
		return parse_fields(t + 18, len - 18, s);
	} else if (len > 14 && strncasecmp(t, "HEADER.FIELDS ", 14) == 0) {
		s->spec = SPEC_HEADER_FIELDS;
		return parse_fields(t + 14, len - 14, s);
	} else {
		return -1;
	}
	return 0;
}

/* "<offset.length>" after the section. */
static int parse_partial(const char *t, size_t len, struct fetch_section *s)
{
	const char *dot;
	int64_t a, b;

	if (len < 5 || t[0] != '<' || t[len - 1] != '>' || (dot = memchr(t, '.', len)) == NULL)
		return -1;
	a = imap_parse_number(t + 1, (size_t)(dot - t - 1), UINT32_MAX);
	b = imap_parse_number(dot + 1, (size_t)(t + len - 1 - dot - 1), UINT32_MAX);
	/* RFC 3501 9: partial = "<" number "." nz-number ">" */
	if (a < 0 || b <= 0)
		return -1;
	s->partial = true;
	s->offset = (uint64_t)a;
	s->length = (uint64_t)b;
	return 0;
}

/* The name the response gives the section: "BODY[1.HEADER.FIELDS (FROM)]". */
static void section_name(struct fetch_section *s)
{
	struct sbuf n = {0};
	static const char *const specs[] = {
	    [SPEC_NONE] = "", [SPEC_HEADER] = "HEADER", [SPEC_HEADER_FIELDS] = "HEADER.FIELDS",
	    [SPEC_HEADER_FIELDS_NOT] = "HEADER.FIELDS.NOT", [SPEC_TEXT] = "TEXT", [SPEC_MIME] = "MIME",
	};

	sbuf_append_str(&n, s->kind == SECTION_BODY     ? "BODY["
			    : s->kind == SECTION_BINARY ? "BINARY["
							: "BINARY.SIZE[");
	for (size_t i = 0; i < s->nparts; i++)
		sbuf_appendf(&n, "%s%u", i > 0 ? "." : "", s->part[i]);
	if (s->spec != SPEC_NONE)
		sbuf_appendf(&n, "%s%s", s->nparts > 0 ? "." : "", specs[s->spec]);
	if (s->nfields > 0) {
		sbuf_append_str(&n, " (");
		for (size_t i = 0; i < s->nfields; i++)
			sbuf_appendf(&n, "%s%s", i > 0 ? " " : "", s->fields[i]);
		sbuf_append_str(&n, ")");
	}
	sbuf_append_str(&n, "]");
	if (s->partial)
		sbuf_appendf(&n, "<%llu>", (unsigned long long)s->offset);
	s->name = n.data;
}

static int parse_section(const char *t, size_t len, struct fetch_request *req)
{
	static const struct {
		const char *prefix;
		enum section_kind kind;
		bool peek;
	} kinds[] = {
	    {"BODY[", SECTION_BODY, false},          {"BODY.PEEK[", SECTION_BODY, true},
	    {"BINARY[", SECTION_BINARY, false},      {"BINARY.PEEK[", SECTION_BINARY, true},
	    {"BINARY.SIZE[", SECTION_BINARY_SIZE, true},
	};
	struct fetch_section *s;
	const char *close;
	size_t k, plen = 0;

	for (k = 0; k < ARRAY_SIZE(kinds); k++) {
		plen = strlen(kinds[k].prefix);
		if (len >= plen && strncasecmp(t, kinds[k].prefix, plen) == 0)
			break;
	}
	if (k == ARRAY_SIZE(kinds) || req->nsections == FETCH_MAX_SECTIONS)
		return -1;
	close = memchr(t + plen, ']', len - plen);
	if (close == NULL)
		return -1;
	s = add_section(req);
	s->kind = kinds[k].kind;
	s->peek = kinds[k].peek;
	if (parse_section_spec(t + plen, (size_t)(close - t - plen), s) < 0)
		return -1;
	if (close + 1 < t + len && (s->kind == SECTION_BINARY_SIZE ||
				    parse_partial(close + 1, (size_t)(t + len - close - 1), s) < 0))
		return -1;
	section_name(s);
	return 0;
}

/* RFC822, RFC822.HEADER, RFC822.TEXT: BODY sections under their old names. */
static void rfc822_section(struct fetch_request *req, enum section_spec spec, bool peek,
			   const char *name)
{
	struct fetch_section *s = add_section(req);

	s->kind = SECTION_BODY;
	s->spec = spec;
	s->peek = peek;
	s->name = xstrdup(name);
}

static int parse_item(const struct imap_arg *a, struct fetch_request *req)
{
	static const struct {
		const char *name;
		unsigned int bits;
	} simple[] = {
	    {"FLAGS", FETCH_FLAGS},       {"UID", FETCH_UID},
	    {"INTERNALDATE", FETCH_INTERNALDATE}, {"RFC822.SIZE", FETCH_SIZE},
	    {"ENVELOPE", FETCH_ENVELOPE}, {"BODYSTRUCTURE", FETCH_BODYSTRUCTURE},
	    {"BODY", FETCH_BODY},         {"MODSEQ", FETCH_MODSEQ},
	};

	if (a->type != IMAP_ARG_ATOM)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(simple); i++) {
		if (strcasecmp(a->str, simple[i].name) == 0) {
			req->bits |= simple[i].bits;
			return 0;
		}
	}
	if (req->nsections == FETCH_MAX_SECTIONS)
		return -1;
	if (strcasecmp(a->str, "RFC822") == 0)
		rfc822_section(req, SPEC_NONE, false, "RFC822");
	else if (strcasecmp(a->str, "RFC822.HEADER") == 0)
		rfc822_section(req, SPEC_HEADER, true, "RFC822.HEADER");
	else if (strcasecmp(a->str, "RFC822.TEXT") == 0)
		rfc822_section(req, SPEC_TEXT, false, "RFC822.TEXT");
	else
		return parse_section(a->str, a->len, req);
	return 0;
}

static int parse_modifiers(const struct imap_arg *m, bool uid, struct fetch_request *req)
{
	for (size_t i = 0; i < m->count; i++) {
		if (imap_arg_is_atom(&m->list[i], "CHANGEDSINCE") && i + 1 < m->count) {
			/* RFC 7162 3.1.4.1: mod-sequence-value, 1 and up */
			req->changedsince = imap_arg_number(&m->list[++i], INT64_MAX);
			if (req->changedsince <= 0)
				return -1;
			req->bits |= FETCH_MODSEQ;
		} else if (imap_arg_is_atom(&m->list[i], "VANISHED") && uid) {
			req->vanished = true;
		} else {
			return -1;
		}
	}
	/* RFC 7162 3.2.6: VANISHED only along with CHANGEDSINCE */
	return req->vanished && req->changedsince < 0 ? -1 : 0;
}

int imap_fetch_parse(const struct imap_arg *args, size_t nargs, bool uid,
		     struct fetch_request *req, const char **error_r)
{
	memset(req, 0, sizeof(*req));
	req->changedsince = -1;
	*error_r = "Invalid FETCH items";
	if (nargs < 1 || nargs > 2 || (nargs == 2 && args[1].type != IMAP_ARG_LIST))
		return -1;
	if (imap_arg_is_atom(&args[0], "ALL")) {
		req->bits = FETCH_FLAGS | FETCH_INTERNALDATE | FETCH_SIZE | FETCH_ENVELOPE;
	} else if (imap_arg_is_atom(&args[0], "FAST")) {
		req->bits = FETCH_FLAGS | FETCH_INTERNALDATE | FETCH_SIZE;
	} else if (imap_arg_is_atom(&args[0], "FULL")) {
		req->bits = FETCH_FLAGS | FETCH_INTERNALDATE | FETCH_SIZE | FETCH_ENVELOPE | FETCH_BODY;
	} else if (args[0].type == IMAP_ARG_LIST) {
		if (args[0].count == 0)
			return -1;
		for (size_t i = 0; i < args[0].count; i++) {
			if (parse_item(&args[0].list[i], req) < 0)
				return -1;
		}
	} else if (parse_item(&args[0], req) < 0) {
		return -1;
	}
	if (nargs == 2 && parse_modifiers(&args[1], uid, req) < 0) {
		*error_r = "Invalid FETCH modifiers";
		return -1;
	}
	if (uid)
		req->bits |= FETCH_UID;
	if (req->bits & FETCH_BODY)
		req->needs_message = true;
	for (size_t i = 0; i < req->nsections; i++) {
		const struct fetch_section *s = &req->sections[i];

		if (!s->peek)
			req->sets_seen = true;
		if (imap_fetch_section_whole(s))
			continue;
		if (imap_fetch_section_header_only(s))
			req->needs_header = true;
		else
			req->needs_message = true;
	}
	return 0;
}

void imap_fetch_request_free(struct fetch_request *req)
{
	for (size_t i = 0; i < req->nsections; i++) {
		for (size_t k = 0; k < req->sections[i].nfields; k++)
			free(req->sections[i].fields[k]);
		free(req->sections[i].fields);
		free(req->sections[i].name);
	}
	free(req->sections);
	memset(req, 0, sizeof(*req));
}
