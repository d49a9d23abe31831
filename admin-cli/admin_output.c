/*
 * admin_output.c: plain and JSON output of sluice-admin (see admin_output.h).
 *
 * Lists are printed a page at a time as the caller fetches them, so a list
 * of 100,000 mailboxes never sits in memory: JSON as one object per line
 * inside "[" and "]", plain tables with column widths taken from the first
 * page (a longer value later only pushes its row out of line). Writes only
 * to stdout; values come from our own database and are escaped for JSON.
 */
#include "admin_output.h"
#include "admin.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out_list {
	int json;
	const struct out_col *cols;
	unsigned ncols;
	size_t *widths; /* plain: NULL until the first page sized the columns */
	uint64_t rows;
};

/* RFC 8259 7: '"', '\' and the control characters U+0000..U+001F must be escaped. */
void json_append_string(struct sbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	sbuf_append(b, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"':
			sbuf_append(b, "\\\"", 2);
			break;
		case '\\':
			sbuf_append(b, "\\\\", 2);
			break;
		case '\n':
			sbuf_append(b, "\\n", 2);
			break;
		case '\r':
			sbuf_append(b, "\\r", 2);
			break;
		case '\t':
			sbuf_append(b, "\\t", 2);
			break;
		case '\b':
			sbuf_append(b, "\\b", 2);
			break;
		case '\f':
			sbuf_append(b, "\\f", 2);
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
				sbuf_append(b, esc, sizeof(esc));
			} else {
				/* UTF-8 from PostgreSQL (a UTF8 database) passes as is. */
				sbuf_append(b, s, 1);
			}
		}
	}
	sbuf_append(b, "\"", 1);
}

void json_obj_init(struct json_obj *o)
{
	memset(o, 0, sizeof(*o));
	sbuf_append_str(&o->buf, "{");
}

static void json_obj_key(struct json_obj *o, const char *key)
{
	if (o->members++ > 0)
		sbuf_append_str(&o->buf, ",");
	json_append_string(&o->buf, key);
	sbuf_append_str(&o->buf, ":");
}

void json_obj_str(struct json_obj *o, const char *key, const char *value)
{
	json_obj_key(o, key);
	if (value == NULL)
		sbuf_append_str(&o->buf, "null");
	else
		json_append_string(&o->buf, value);
}

void json_obj_int(struct json_obj *o, const char *key, int64_t value)
{
	json_obj_key(o, key);
	sbuf_appendf(&o->buf, "%" PRId64, value);
}

void json_obj_bool(struct json_obj *o, const char *key, int value)
{
	json_obj_key(o, key);
	sbuf_append_str(&o->buf, value ? "true" : "false");
}

void json_obj_strv(struct json_obj *o, const char *key, const char *const *values, unsigned n)
{
	json_obj_key(o, key);
	sbuf_append_str(&o->buf, "[");
	for (unsigned i = 0; i < n; i++) {
		if (i > 0)
			sbuf_append_str(&o->buf, ",");
		json_append_string(&o->buf, values[i]);
	}
	sbuf_append_str(&o->buf, "]");
}

void json_obj_raw(struct json_obj *o, const char *key, const char *json)
{
	json_obj_key(o, key);
	sbuf_append_str(&o->buf, json);
}

const char *json_obj_finish(struct json_obj *o)
{
	sbuf_append_str(&o->buf, "}");
	return sbuf_str(&o->buf);
}

void json_obj_free(struct json_obj *o)
{
	sbuf_free(&o->buf);
	o->members = 0;
}

/* A '\n'-joined OUT_LIST value as a JSON array. */
static void json_append_list(struct sbuf *b, const char *value)
{
	const char *p = value, *nl;
	int first = 1;

	sbuf_append_str(b, "[");
	while (*p != '\0') {
		char *item;

		nl = strchr(p, '\n');
		item = nl != NULL ? xstrndup(p, (size_t)(nl - p)) : xstrdup(p);
		if (!first)
			sbuf_append_str(b, ",");
		first = 0;
		json_append_string(b, item);
		free(item);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	sbuf_append_str(b, "]");
}

static void json_append_value(struct sbuf *b, const struct out_col *col, const PGresult *res,
                              int row, int field)
{
	const char *v = PQgetvalue(res, row, field);

	if (PQgetisnull(res, row, field)) {
		sbuf_append_str(b, col->kind == OUT_LIST ? "[]" : "null");
		return;
	}
	switch (col->kind) {
	case OUT_TEXT:
		json_append_string(b, v);
		break;
	case OUT_INT:
	case OUT_SIZE:
		/* Our own SQL integers: digits and an optional minus sign only. */
		if (v[0] == '\0' || strspn(v, "-0123456789") != strlen(v))
			log_panic("admin output: column %s is not an integer", col->key);
		sbuf_append_str(b, v);
		break;
	case OUT_BOOL:
		sbuf_append_str(b, v[0] == 't' ? "true" : "false");
		break;
	case OUT_LIST:
		json_append_list(b, v);
		break;
	}
}

static void json_append_row(struct sbuf *b, const struct out_col *cols, unsigned ncols,
                            const PGresult *res, int row)
{
	sbuf_append_str(b, "{");
	for (unsigned i = 0; i < ncols; i++) {
		if (i > 0)
			sbuf_append_str(b, ",");
		json_append_string(b, cols[i].key);
		sbuf_append_str(b, ":");
		json_append_value(b, &cols[i], res, row, (int)i);
	}
	sbuf_append_str(b, "}");
}

/* The plain form of a value. */
static void plain_value(struct sbuf *b, const struct out_col *col, const PGresult *res, int row,
                        int field)
{
	const char *v = PQgetvalue(res, row, field);
	char size[32];

	if (PQgetisnull(res, row, field)) {
		sbuf_append_str(b, "-");
		return;
	}
	switch (col->kind) {
	case OUT_TEXT:
		sbuf_append_str(b, v[0] != '\0' ? v : "-");
		break;
	case OUT_INT:
		if ((col->flags & OUT_UNLIMITED) != 0 && strcmp(v, "0") == 0)
			sbuf_append_str(b, "unlimited");
		else
			sbuf_append_str(b, v);
		break;
	case OUT_SIZE:
		admin_format_size(strtoll(v, NULL, 10), (col->flags & OUT_UNLIMITED) != 0, size,
		                  sizeof(size));
		sbuf_append_str(b, size);
		break;
	case OUT_BOOL:
		sbuf_append_str(b, v[0] == 't' ? "yes" : "no");
		break;
	case OUT_LIST:
		if (v[0] == '\0') {
			sbuf_append_str(b, "-");
			break;
		}
		for (; *v != '\0'; v++) {
			if (*v == '\n')
				sbuf_append_str(b, ", ");
			else
				sbuf_append(b, v, 1);
		}
		break;
	}
}

/* Display width: UTF-8 characters, not bytes. */
static size_t text_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return n;
}

struct out_list *out_list_begin(int json, const struct out_col *cols, unsigned ncols)
{
	struct out_list *list = xcalloc(1, sizeof(*list));

	list->json = json;
	list->cols = cols;
	list->ncols = ncols;
	if (json)
		fputs("[", stdout);
	return list;
}

static void plain_print_cells(const struct out_list *list, const char *const *cells)
{
	struct sbuf line = {0};
	unsigned last = 0;

	for (unsigned i = 0; i < list->ncols; i++) {
		if ((list->cols[i].flags & OUT_DETAIL) == 0)
			last = i;
	}
	for (unsigned i = 0; i < list->ncols; i++) {
		if ((list->cols[i].flags & OUT_DETAIL) != 0)
			continue;
		sbuf_append_str(&line, cells[i]);
		if (i == last)
			break;
		for (size_t w = text_width(cells[i]); w < list->widths[i] + 2; w++)
			sbuf_append_str(&line, " ");
	}
	puts(sbuf_str(&line));
	sbuf_free(&line);
}

static void plain_header(struct out_list *list, const PGresult *res)
{
	const char **cells = xcalloc(list->ncols, sizeof(*cells));
	int rows = res != NULL ? PQntuples(res) : 0;

	list->widths = xcalloc(list->ncols, sizeof(*list->widths));
	for (unsigned i = 0; i < list->ncols; i++) {
		list->widths[i] = text_width(list->cols[i].title);
		for (int r = 0; r < rows; r++) {
			struct sbuf v = {0};
			size_t w;

			plain_value(&v, &list->cols[i], res, r, (int)i);
			w = text_width(sbuf_str(&v));
			if (w > list->widths[i])
				list->widths[i] = w;
			sbuf_free(&v);
		}
		cells[i] = list->cols[i].title;
	}
	plain_print_cells(list, cells);
	free((void *)cells);
}

void out_list_rows(struct out_list *list, const PGresult *res)
{
	int rows = PQntuples(res);

	/* Fields after ncols are the caller's (pagination keys). */
	if ((unsigned)PQnfields(res) < list->ncols)
		log_panic("admin output: %d fields for %u columns", PQnfields(res), list->ncols);
	if (!list->json && list->widths == NULL)
		plain_header(list, res);
	for (int r = 0; r < rows; r++) {
		if (list->json) {
			struct sbuf b = {0};

			json_append_row(&b, list->cols, list->ncols, res, r);
			printf("%s\n%s", list->rows > 0 ? "," : "", sbuf_str(&b));
			sbuf_free(&b);
		} else {
			const char **cells = xcalloc(list->ncols, sizeof(*cells));
			struct sbuf *vals = xcalloc(list->ncols, sizeof(*vals));

			for (unsigned i = 0; i < list->ncols; i++) {
				plain_value(&vals[i], &list->cols[i], res, r, (int)i);
				cells[i] = sbuf_str(&vals[i]);
			}
			plain_print_cells(list, cells);
			for (unsigned i = 0; i < list->ncols; i++)
				sbuf_free(&vals[i]);
			free(vals);
			free((void *)cells);
		}
		list->rows++;
	}
}

uint64_t out_list_count(const struct out_list *list)
{
	return list->rows;
}

void out_list_end(struct out_list **listp)
{
	struct out_list *list = *listp;

	if (list == NULL)
		return;
	if (list->json)
		fputs(list->rows > 0 ? "\n]\n" : "]\n", stdout);
	else if (list->widths == NULL)
		plain_header(list, NULL);
	free(list->widths);
	free(list);
	*listp = NULL;
}

void out_list_abort(struct out_list **listp)
{
	struct out_list *list = *listp;

	if (list == NULL)
		return;
	if (list->json && list->rows > 0)
		fputs("\n", stdout);
	free(list->widths);
	free(list);
	*listp = NULL;
}

void out_object(int json, const struct out_col *cols, unsigned ncols, const PGresult *res, int row)
{
	struct sbuf b = {0};
	size_t width = 0;

	if ((unsigned)PQnfields(res) != ncols)
		log_panic("admin output: %d fields for %u columns", PQnfields(res), ncols);
	if (json) {
		json_append_row(&b, cols, ncols, res, row);
		puts(sbuf_str(&b));
		sbuf_free(&b);
		return;
	}
	for (unsigned i = 0; i < ncols; i++) {
		if (strlen(cols[i].key) > width)
			width = strlen(cols[i].key);
	}
	for (unsigned i = 0; i < ncols; i++) {
		sbuf_reset(&b);
		plain_value(&b, &cols[i], res, row, (int)i);
		printf("%s:%*s %s\n", cols[i].key, (int)(width - strlen(cols[i].key)), "",
		       sbuf_str(&b));
	}
	sbuf_free(&b);
}

void out_change(int json, const char *message, const char *action, const char *object,
                const char *details_json)
{
	struct json_obj o;

	if (!json) {
		puts(message);
		return;
	}
	json_obj_init(&o);
	json_obj_str(&o, "action", action);
	json_obj_str(&o, "object", object);
	json_obj_raw(&o, "details", details_json != NULL ? details_json : "{}");
	puts(json_obj_finish(&o));
	json_obj_free(&o);
}
