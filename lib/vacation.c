/*
 * vacation.c: an administrator's vacation settings (table vacations) and the
 * Sieve script made from them (see vacation.h).
 *
 * The script, for starts and ends both set:
 *
 *   require ["vacation", "date", "relational"];
 *   if allof (currentdate :zone "+0000" :comparator "i;octet" :value "ge" "iso8601" "<start>Z",
 *             currentdate :zone "+0000" :comparator "i;octet" :value "lt" "iso8601" "<end>Z") {
 *       vacation :days N :subject "..." :addresses [...] :handle "..." "body";
 *   }
 *
 * Times are compared as ISO 8601 text in UTC (RFC 5260 4.2's "iso8601"
 * date-part with :zone "+0000" reads "YYYY-MM-DDTHH:MM:SSZ"), where text
 * order is time order. Strings are written as Sieve quoted strings (RFC 5228
 * 2.4.2: only " and \ are escaped; line ends may stand in them), and no
 * "variables" extension is required, so "${...}" in a text stays text.
 * Reads only the vacations row it is asked for.
 */
#include "vacation.h"
#include "mime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct db_stmt stmt_load = {
    "vacation_load",
    "SELECT active, subject, body, coalesce(extract(epoch FROM starts)::bigint, 0),"
    " coalesce(extract(epoch FROM ends)::bigint, 0), coalesce(days, 0), addresses,"
    " extract(epoch FROM modified)::bigint FROM vacations WHERE mailbox_id = $1"};

static bool utf8_text(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = mime_utf8_char_len(s + i, len - i);
		if (n == 1 && ((unsigned char)s[i] >= 0x80 || s[i] == '\0'))
			return false;
		i += n;
	}
	return true;
}

/* A Sieve quoted string (RFC 5228 2.4.2). */
static void quoted(struct sbuf *out, const char *s)
{
	sbuf_append(out, "\"", 1);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			sbuf_append(out, "\\", 1);
		sbuf_append(out, s, 1);
	}
	sbuf_append(out, "\"", 1);
}

static void iso8601_utc(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void date_test(struct sbuf *out, const char *relation, int64_t t)
{
	char when[32];

	iso8601_utc(t, when, sizeof(when));
	sbuf_appendf(
	    out,
	    "currentdate :zone \"+0000\" :comparator \"i;octet\" :value \"%s\" \"iso8601\" "
	    "\"%s\"",
	    relation, when);
}

int vacation_script(const struct vacation *v, struct sbuf *out, const char **error_r)
{
	bool dated = v->starts > 0 || v->ends > 0;
	const char *indent = dated ? "\t" : "";

	if (v->subject == NULL || v->subject[0] == '\0' || strpbrk(v->subject, "\r\n") != NULL ||
	    !utf8_text(v->subject, strlen(v->subject))) {
		*error_r = "the subject must be one line of UTF-8 text";
		return -1;
	}
	if (v->body == NULL || v->body[0] == '\0' || !utf8_text(v->body, strlen(v->body))) {
		*error_r = "the body must be UTF-8 text";
		return -1;
	}
	if (v->starts > 0 && v->ends > 0 && v->starts >= v->ends) {
		*error_r = "the vacation must start before it ends";
		return -1;
	}
	for (size_t i = 0; i < v->naddresses; i++) {
		if (strpbrk(v->addresses[i], "\"\\\r\n") != NULL) {
			*error_r = "an address holds characters it cannot";
			return -1;
		}
	}
	sbuf_appendf(out, "# Vacation reply of mailbox %lld, set with sluice-admin vacation.\n",
	             (long long)v->mailbox_id);
	sbuf_append_str(out, dated ? "require [\"vacation\", \"date\", \"relational\"];\n"
	                           : "require \"vacation\";\n");
	if (dated) {
		sbuf_append_str(out, "if allof (");
		if (v->starts > 0)
			date_test(out, "ge", v->starts);
		if (v->starts > 0 && v->ends > 0)
			sbuf_append_str(out, ",\n          ");
		if (v->ends > 0)
			date_test(out, "lt", v->ends);
		sbuf_append_str(out, ") {\n");
	}
	sbuf_appendf(out, "%svacation", indent);
	if (v->days > 0)
		sbuf_appendf(out, " :days %u", v->days);
	sbuf_append_str(out, " :subject ");
	quoted(out, v->subject);
	if (v->naddresses > 0) {
		sbuf_append_str(out, " :addresses [");
		for (size_t i = 0; i < v->naddresses; i++) {
			if (i > 0)
				sbuf_append_str(out, ", ");
			quoted(out, v->addresses[i]);
		}
		sbuf_append_str(out, "]");
	}
	/* a new handle per change: RFC 5230 4.2, a changed reason is a new response */
	sbuf_appendf(out, " :handle \"sluice-vacation-%lld-%lld\"\n%s\t", (long long)v->mailbox_id,
	             (long long)v->modified, indent);
	quoted(out, v->body);
	sbuf_append_str(out, ";\n");
	if (dated)
		sbuf_append_str(out, "}\n");
	return 0;
}

/* Parse a PostgreSQL text[] literal ({a,"b c"}) into strings. */
static void parse_text_array(const char *s, char ***items_r, size_t *n_r)
{
	char **items = NULL;
	size_t n = 0;
	struct sbuf cur = {0};

	*items_r = NULL;
	*n_r = 0;
	if (*s != '{')
		return;
	s++;
	while (*s != '\0' && *s != '}') {
		sbuf_reset(&cur);
		sbuf_append(&cur, "", 0);
		if (*s == '"') {
			for (s++; *s != '\0' && *s != '"'; s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
				sbuf_append(&cur, s, 1);
			}
			if (*s == '"')
				s++;
		} else {
			for (; *s != '\0' && *s != ',' && *s != '}'; s++)
				sbuf_append(&cur, s, 1);
		}
		items = xrealloc(items, (n + 1) * sizeof(*items));
		items[n++] = xstrdup(sbuf_str(&cur));
		if (*s == ',')
			s++;
	}
	sbuf_free(&cur);
	*items_r = items;
	*n_r = n;
}

enum db_status vacation_load(struct db_conn *conn, int64_t mailbox_id, struct vacation *v,
                             bool *found_r, const char **error_r)
{
	PGresult *res = NULL;
	enum db_status st;
	char id[24];

	memset(v, 0, sizeof(*v));
	*found_r = false;
	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	const char *params[1] = {id};
	st = db_exec(conn, &stmt_load, 1, params, &res, error_r);
	if (st != DB_OK)
		return st;
	if (PQntuples(res) == 1) {
		v->mailbox_id = mailbox_id;
		v->active = PQgetvalue(res, 0, 0)[0] == 't';
		v->subject = xstrdup(PQgetvalue(res, 0, 1));
		v->body = xstrdup(PQgetvalue(res, 0, 2));
		v->starts = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
		v->ends = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
		v->days = (unsigned int)strtoul(PQgetvalue(res, 0, 5), NULL, 10);
		parse_text_array(PQgetvalue(res, 0, 6), &v->addresses, &v->naddresses);
		v->modified = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
		*found_r = true;
	}
	PQclear(res);
	return DB_OK;
}

void vacation_free(struct vacation *v)
{
	free(v->subject);
	free(v->body);
	for (size_t i = 0; i < v->naddresses; i++)
		free(v->addresses[i]);
	free(v->addresses);
	memset(v, 0, sizeof(*v));
}

enum db_status vacation_script_for(struct db_conn *conn, int64_t mailbox_id, int64_t now,
                                   struct sbuf *script, bool *found_r, const char **error_r)
{
	struct vacation v;
	enum db_status st;
	bool found;

	*found_r = false;
	st = vacation_load(conn, mailbox_id, &v, &found, error_r);
	if (st != DB_OK)
		return st;
	if (now == 0)
		now = (int64_t)time(NULL);
	if (found && v.active && (v.ends == 0 || now < v.ends)) {
		const char *error;

		if (vacation_script(&v, script, &error) == 0)
			*found_r = true;
		else
			*error_r = error; /* a row the table's checks let through: nothing to run */
	}
	vacation_free(&v);
	return DB_OK;
}
