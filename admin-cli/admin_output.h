/*
 * admin_output.h: how sluice-admin prints what it finds: plain tables and
 * "key: value" blocks for people, and JSON (--json) for programs, both from
 * the same column descriptions over a PGresult. Also the JSON string escaping
 * and a small object builder used for --json results and audit log details.
 */
#ifndef SLUICE_ADMIN_OUTPUT_H
#define SLUICE_ADMIN_OUTPUT_H

#include <libpq-fe.h>
#include <stdint.h>

#include "util.h"

enum out_kind {
	OUT_TEXT, /* a string; JSON string, null when SQL NULL */
	OUT_INT,  /* an integer; JSON number */
	OUT_BOOL, /* 't' / 'f'; JSON true/false, plain yes/no */
	OUT_SIZE, /* bytes; JSON number, plain 1G / 500M */
	OUT_LIST, /* strings joined by '\n' in SQL (string_agg); JSON array */
};

enum out_flags {
	OUT_UNLIMITED = 1 << 0, /* plain: 0 is shown as "unlimited" */
	OUT_DETAIL = 1 << 1,    /* not a column of plain tables (only show and JSON) */
};

/* A column: the PGresult field at the same index has this meaning. */
struct out_col {
	const char *key;   /* JSON key, and the label of plain show output */
	const char *title; /* plain table header */
	enum out_kind kind;
	unsigned flags;
};

struct out_list;

/* Start a list: JSON "[" or, for plain tables, wait for the first rows to size the columns. */
struct out_list *out_list_begin(int json, const struct out_col *cols, unsigned ncols);
/* Print every row of res (one page of a list); res has ncols fields in cols' order. */
void out_list_rows(struct out_list *list, const PGresult *res);
/* Rows printed so far. */
uint64_t out_list_count(const struct out_list *list);
/* Finish: JSON "]"; a plain header alone when there were no rows. */
void out_list_end(struct out_list **list);
/* Stop after a failure: free without the closing "]", so a cut list never looks whole. */
void out_list_abort(struct out_list **list);

/* Print one row of res as a JSON object or as aligned "label: value" lines. */
void out_object(int json, const struct out_col *cols, unsigned ncols, const PGresult *res, int row);

/* Append s as a JSON string literal, quotes included (RFC 8259 7). */
void json_append_string(struct sbuf *b, const char *s);

/* A JSON object built member by member. */
struct json_obj {
	struct sbuf buf;
	unsigned members;
};

void json_obj_init(struct json_obj *o);
void json_obj_str(struct json_obj *o, const char *key, const char *value);
void json_obj_int(struct json_obj *o, const char *key, int64_t value);
void json_obj_bool(struct json_obj *o, const char *key, int value);
void json_obj_strv(struct json_obj *o, const char *key, const char *const *values, unsigned n);
/* A member whose value is already JSON text. */
void json_obj_raw(struct json_obj *o, const char *key, const char *json);
/* The finished object text ("{...}"), valid until json_obj_free(). */
const char *json_obj_finish(struct json_obj *o);
void json_obj_free(struct json_obj *o);

/*
 * The outcome of a change: with json, {"action":..,"object":..,"details":{..}}
 * on stdout; otherwise the message line.
 */
void out_change(int json, const char *message, const char *action, const char *object,
                const char *details_json);

#endif
