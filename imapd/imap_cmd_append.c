/*
 * imap_cmd_append.c: APPEND (RFC 3501 6.3.11, RFC 9051 6.3.12) with
 * MULTIAPPEND (RFC 3502: several messages, all or none), UIDPLUS's
 * APPENDUID (RFC 4315 3), BINARY's literal8 (RFC 3516 4.4), the UTF8 data
 * form of UTF8=ACCEPT (RFC 6855 4) and APPENDLIMIT (RFC 7889: the size
 * check happens in imap_session.c while the literal arrives).
 *
 * The messages were streamed into the store's temporary files as they
 * came (struct imap_append_msg); here they are checked and stored in one
 * transaction (lib/store_imap.h).
 */
#include "imap_commands.h"

#include "imap_db.h"
#include "imap_view.h"
#include "store_imap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>


static const struct db_stmt stmt_uidvalidity = {
    "imapd_append_uidvalidity", "SELECT uidvalidity FROM folders WHERE id = $1"};

/* RFC 3501 9 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be " d" or "d"); -1 if not. */
static time_t parse_datetime(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int day, year, hh, mm, ss, zone, n = 0;
	char mon[4], sign;
	struct tm tm;
	const char *m;
	time_t t;

	while (*s == ' ')
		s++;
	if (sscanf(s, "%2d-%3s-%4d %2d:%2d:%2d %c%4d%n", &day, mon, &year, &hh, &mm, &ss, &sign,
		   &zone, &n) != 8 ||
	    s[n] != '\0' || (sign != '+' && sign != '-') || strlen(mon) != 3)
		return -1;
	m = strstr(months, mon);
	if (m == NULL || (m - months) % 3 != 0 || day < 1 || day > 31 || year < 1970 || hh > 23 ||
	    mm > 59 || ss > 60 || zone % 100 > 59 || zone > 2359)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mday = day;
	tm.tm_mon = (int)((m - months) / 3);
	tm.tm_year = year - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	t = timegm(&tm);
	zone = (zone / 100) * 3600 + (zone % 100) * 60;
	return sign == '+' ? t - zone : t + zone;
}

struct append_item {
	struct imap_flag_list flags;
	time_t date;
	size_t msg; /* index into sess->appends */
};

/* One "[flags] [date] message" group from args[*i]. -1 with a BAD reply set. */
static int parse_group(struct imap_session *sess, const struct imap_arg *args, size_t nargs,
		       size_t *i, struct append_item *it)
{
	const struct imap_arg *msg;

	memset(it, 0, sizeof(*it));
	if (*i < nargs && args[*i].type == IMAP_ARG_LIST) {
		if (imap_flag_list_parse(&args[*i], 1, &it->flags) < 0) {
			imap_tagged(sess, "BAD Invalid flag list");
			return -1;
		}
		(*i)++;
	}
	if (*i < nargs && args[*i].type == IMAP_ARG_STRING) {
		it->date = parse_datetime(args[*i].str);
		if (it->date < 0) {
			imap_tagged(sess, "BAD Invalid date-time");
			return -1;
		}
		(*i)++;
	}
	if (*i >= nargs) {
		imap_tagged(sess, "BAD Missing message literal");
		return -1;
	}
	msg = &args[*i];
	if (imap_arg_is_atom(msg, "UTF8") && *i + 1 < nargs) {
		/* RFC 6855 4: UTF8 (~{n}...) after ENABLE UTF8=ACCEPT */
		const struct imap_arg *l = &args[++*i];

		if (!imap_utf8_names(sess) || l->type != IMAP_ARG_LIST || l->count != 1 ||
		    l->list[0].type != IMAP_ARG_STREAMED || !l->list[0].literal8) {
			imap_tagged(sess, "BAD Invalid UTF8 message data");
			return -1;
		}
		msg = &l->list[0];
	} else if (msg->type != IMAP_ARG_STREAMED) {
		imap_tagged(sess, "BAD Syntax: APPEND mailbox [(flags)] [date-time] literal");
		return -1;
	}
	(*i)++;
	it->msg = msg->stream_index;
	if (sess->appends[it->msg].has_nul && !sess->appends[it->msg].literal8) {
		/* RFC 3501 9: only a literal8 (RFC 3516) may hold NUL */
		imap_tagged(sess, "BAD NUL in a message; use BINARY literal8");
		return -1;
	}
	return 0;
}

/* "OK [APPENDUID v uids]" (RFC 4315 3). */
static void append_ok(struct imap_session *sess, int64_t folder,
		      const struct store_imap_append *stored, size_t n)
{
	char b1[IMAP_I64_BUFSZ];
	const char *params[1] = {imap_i64(b1, folder)}, *error;
	struct imap_seqset uids = {0};
	struct sbuf text = {0};
	PGresult *res;

	if (imap_query(sess->d, &stmt_uidvalidity, 1, params, &res, &error) != STORE_OK)
		return; /* stored: only the code is missing */
	for (size_t i = 0; i < n; i++)
		imap_seqset_add(&uids, (uint32_t)stored[i].uid, (uint32_t)stored[i].uid);
	imap_seqset_normalize(&uids);
	imap_seqset_format(&uids, &text);
	if (PQntuples(res) == 1)
		imap_tagged(sess, "OK [APPENDUID %s %s] APPEND completed", PQgetvalue(res, 0, 0),
			    sbuf_str(&text));
	PQclear(res);
	sbuf_free(&text);
	imap_seqset_clear(&uids);
}

void imap_cmd_append(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	char name[STORE_FOLDER_NAME_MAX + 1];
	struct append_item *items = NULL;
	struct store_imap_append *stored = NULL;
	const char *error = NULL;
	size_t i = 1, n = 0;
	int64_t folder;
	int rc;

	if (nargs < 2) {
		imap_tagged(sess, "BAD Syntax: APPEND mailbox [(flags)] [date-time] literal");
		return;
	}
	while (i < nargs) {
		items = xrealloc(items, (n + 1) * sizeof(*items));
		if (parse_group(sess, args, nargs, &i, &items[n]) < 0) {
			imap_flag_list_free(&items[n].flags);
			goto out;
		}
		n++;
	}
	if (imap_mailbox_name(sess, &args[0], name, &error) < 0) {
		imap_tagged(sess, "NO [TRYCREATE] %s", error);
		goto out;
	}
	rc = store_folder_find(sess->d->store, &sess->mailbox, name, &folder, &error);
	if (rc == STORE_NOT_FOUND) {
		/* RFC 3501 6.3.11 */
		imap_tagged(sess, "NO [TRYCREATE] No such mailbox");
		goto out;
	}
	if (rc != STORE_OK) {
		imap_tagged_store_error(sess, rc, error);
		goto out;
	}
	stored = xcalloc(n, sizeof(*stored));
	for (size_t k = 0; k < n; k++) {
		const struct imap_append_msg *am = &sess->appends[items[k].msg];

		if (am->status != STORE_OK) {
			imap_tagged_store_error(sess, am->status, "the message could not be written");
			goto out;
		}
		stored[k].msg = am->msg;
		stored[k].flags = items[k].flags.flags;
		stored[k].keywords = (const char *const *)items[k].flags.keywords;
		stored[k].nkeywords = items[k].flags.nkeywords;
		stored[k].internal_date = items[k].date;
	}
	rc = store_imap_append(sess->d->store, &sess->mailbox, folder, stored, n, &error);
	if (rc != STORE_OK) {
		imap_tagged_store_error(sess, rc, error);
	} else {
		append_ok(sess, folder, stored, n);
		/* RFC 3501 6.3.11: into the selected mailbox, EXISTS comes before the OK */
		if (sess->view != NULL && sess->view->folder_id == folder)
			sess->view->resync = true;
	}
out:
	for (size_t k = 0; k < n; k++)
		imap_flag_list_free(&items[k].flags);
	free(items);
	free(stored);
}
