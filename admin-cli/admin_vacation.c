/*
 * admin_vacation.c: `sluice-admin vacation set|off|show`, out-of-office
 * replies set by an administrator (PostfixAdmin's vacation feature).
 *
 * The settings go to the vacations table (schema/0003_vacation.sql); the
 * delivery agent runs them as a Sieve vacation action inside a currentdate
 * test (lib/vacation.c) beside the user's own script, so the replies start
 * and stop by themselves at --from and --until and follow RFC 3834 (no
 * replies to lists, bulk or automatic mail, once per sender per --days).
 * `set` compiles that script before storing anything. Dates without a zone
 * are the local time of this host; a date alone means its midnight, and
 * --until DATE means the end of that day. Each change is one transaction
 * with its audit log row.
 */
#include "admin.h"
#include "admin_output.h"
#include "admin_sql.h"
#include "sieve.h"
#include "util.h"
#include "vacation.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { O_SUBJECT = 0x100, O_BODY_FILE, O_FROM, O_UNTIL, O_DAYS, O_ADDRESS };

/* The most a vacation text may hold: a note, not a newsletter. */
#define VACATION_MAX_BODY (64 * 1024)
#define VACATION_MAX_ADDRESSES 32

static int digits(const char **p, int n, int *value_r)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*value_r = v;
	return 0;
}

/*
 * YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS] (a space for the T), then Z or
 * +HH:MM / -HHMM for a zone; local time without one. A date alone is its
 * midnight, or the next midnight when end_of_day.
 */
static int parse_date(const char *option, const char *text, int end_of_day, int64_t *t_r)
{
	const char *p = text;
	struct tm tm = {0}, check;
	int y, mo, d, h = 0, mi = 0, s = 0, zone = 0, has_zone = 0, date_only = 1;
	time_t t;

	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
	    digits(&p, 2, &d) < 0)
		goto bad;
	if (*p == 'T' || *p == ' ') {
		p++;
		date_only = 0;
		if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
			goto bad;
		if (*p == ':' && (p++, digits(&p, 2, &s) < 0))
			goto bad;
	}
	if (*p == 'Z' && p[1] == '\0') {
		has_zone = 1;
		p++;
	} else if ((*p == '+' || *p == '-') && !date_only) {
		int sign = *p++ == '-' ? -1 : 1, zh, zm;
		if (digits(&p, 2, &zh) < 0 || (*p == ':' && (p++, 0)) || digits(&p, 2, &zm) < 0 ||
		    zh > 23 || zm > 59)
			goto bad;
		zone = sign * (zh * 3600 + zm * 60);
		has_zone = 1;
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 ||
	    y < 1970 || y > 9999)
		goto bad;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	/* timegm moves 31 February on to March: no such date */
	check = tm;
	if (timegm(&check) == (time_t)-1 || check.tm_mon != mo - 1 || check.tm_mday != d)
		goto bad;
	if (date_only && end_of_day)
		tm.tm_mday++;
	if (has_zone) {
		t = timegm(&tm) - zone;
	} else {
		tm.tm_isdst = -1;
		t = mktime(&tm);
		if (t == (time_t)-1)
			goto bad;
	}
	*t_r = (int64_t)t;
	return 0;
bad:
	return admin_error(EX_DATAERR,
	                   "%s: '%s' is not a date like 2024-07-01 or 2024-07-01T18:00 (with Z or "
	                   "+02:00 for a zone)",
	                   option, text);
}

static void format_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S %z", &tm);
}

/* The body: UTF-8 text, lines and tabs allowed, no other control characters. */
static int read_body(const char *path, struct sbuf *out)
{
	switch (admin_read_file(path, VACATION_MAX_BODY, out)) {
	case ADMIN_READ_OK:
		break;
	case ADMIN_READ_OPEN:
		return admin_error(EX_NOINPUT, "--body-file: %s: %s", path, strerror(errno));
	case ADMIN_READ_TOO_BIG:
		return admin_error(EX_DATAERR, "--body-file: longer than %d bytes",
		                   VACATION_MAX_BODY);
	case ADMIN_READ_ERROR:
		return admin_error(EX_IOERR, "--body-file: %s: read error", path);
	}
	for (size_t i = 0; i < out->len; i++) {
		unsigned char c = (unsigned char)out->data[i];
		if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f)
			return admin_error(EX_DATAERR, "--body-file: control characters other than "
			                               "line ends and tabs are not allowed");
	}
	while (out->len > 0 && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\r'))
		out->data[--out->len] = '\0';
	if (out->len == 0)
		return admin_error(EX_DATAERR, "--body-file: the text is empty");
	return 0;
}

static const struct db_stmt stmt_set = {
    "admin_vacation_set",
    "INSERT INTO vacations (mailbox_id, active, subject, body, starts, ends, days, addresses)"
    " VALUES ($1, true, $2, $3, to_timestamp($4::bigint), to_timestamp($5::bigint),"
    " $6::integer, $7::text[])"
    " ON CONFLICT (mailbox_id) DO UPDATE SET active = true, subject = excluded.subject,"
    " body = excluded.body, starts = excluded.starts, ends = excluded.ends,"
    " days = excluded.days, addresses = excluded.addresses, modified = now()"};

static int cmd_set(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"subject", required_argument, NULL, O_SUBJECT},
	    {"body-file", required_argument, NULL, O_BODY_FILE},
	    {"from", required_argument, NULL, O_FROM},
	    {"until", required_argument, NULL, O_UNTIL},
	    {"days", required_argument, NULL, O_DAYS},
	    {"address", required_argument, NULL, O_ADDRESS},
	    ADMIN_COMMON_OPTIONS,
	};
	const char *subject = NULL, *body_file = NULL, *from = NULL, *until = NULL;
	char full[ADDR_BUFSZ], idbuf[ADMIN_I64_BUFSZ], startbuf[24], endbuf[24], daysbuf[24];
	char addr_store[VACATION_MAX_ADDRESSES][ADDR_BUFSZ], *addrs[VACATION_MAX_ADDRESSES];
	char when[128] = "";
	struct vacation v = {0};
	struct sbuf body = {0}, script = {0};
	struct json_obj details;
	struct sieve_program *prog = NULL;
	struct sieve_errors errors = {0};
	const char *error;
	int64_t days = 0, id;
	size_t naddrs = 0;
	char *array = NULL;
	int c, rc;

	while ((c = admin_getopt(ctx, argc, argv, ADMIN_COMMON_SHORTOPTS, longopts)) != -1) {
		switch (c) {
		case O_SUBJECT:
			subject = optarg;
			break;
		case O_BODY_FILE:
			body_file = optarg;
			break;
		case O_FROM:
			from = optarg;
			break;
		case O_UNTIL:
			until = optarg;
			break;
		case O_DAYS:
			if ((rc = admin_parse_count("--days", optarg, 1, &days)) != 0)
				return rc;
			if (days < 1 || days > 3650)
				return admin_error(EX_DATAERR, "--days: from 1 to 3650");
			break;
		case O_ADDRESS: {
			struct mail_address a;
			if (naddrs == VACATION_MAX_ADDRESSES)
				return admin_error(EX_DATAERR, "--address: at most %d",
				                   VACATION_MAX_ADDRESSES);
			if ((rc = admin_parse_address(optarg, 0, &a)) != 0)
				return rc;
			addr_format(&a, addr_store[naddrs]);
			addrs[naddrs] = addr_store[naddrs];
			naddrs++;
			break;
		}
		default:
			return EX_USAGE;
		}
	}
	if ((rc = admin_operands(ctx, &argc, &argv, 1, 1)) != 0)
		return rc;
	if (subject == NULL || body_file == NULL)
		return admin_usage(ctx, "--subject and --body-file are required");
	if (subject[0] == '\0')
		return admin_error(EX_DATAERR, "--subject: empty");
	if ((rc = admin_check_text("--subject", subject, 900)) != 0)
		return rc;
	if ((from != NULL && (rc = parse_date("--from", from, 0, &v.starts)) != 0) ||
	    (until != NULL && (rc = parse_date("--until", until, 1, &v.ends)) != 0))
		return rc;
	if (v.starts != 0 && v.ends != 0 && v.starts >= v.ends)
		return admin_error(EX_DATAERR, "--until must come after --from");
	if ((rc = read_body(body_file, &body)) != 0)
		goto out;
	if ((rc = admin_mailbox_arg(ctx, argv[0], full, &id)) != 0)
		goto out;
	v.mailbox_id = id;
	v.active = true;
	v.subject = xstrdup(subject);
	v.body = body.data;
	v.days = (unsigned int)days;
	v.addresses = addrs;
	v.naddresses = naddrs;
	v.modified = (int64_t)time(NULL);
	/* the script delivery will run must compile: the texts are checked with it */
	if (vacation_script(&v, &script, &error) < 0) {
		rc = admin_error(EX_DATAERR, "%s", error);
		goto out;
	}
	if (sieve_compile(script.data, script.len, NULL, &prog, &errors) < 0) {
		struct sbuf text = {0};
		sieve_errors_format(&errors, &text);
		rc = admin_error(EX_DATAERR, "the vacation text cannot be used: %s",
		                 sbuf_str(&text));
		sbuf_free(&text);
		goto out;
	}
	snprintf(startbuf, sizeof(startbuf), "%lld", (long long)v.starts);
	snprintf(endbuf, sizeof(endbuf), "%lld", (long long)v.ends);
	snprintf(daysbuf, sizeof(daysbuf), "%lld", (long long)days);
	array = admin_text_array((const char *const *)addrs, (unsigned)naddrs);
	const char *params[7] = {admin_i64(idbuf, id),
	                         subject,
	                         body.data,
	                         v.starts != 0 ? startbuf : NULL,
	                         v.ends != 0 ? endbuf : NULL,
	                         days != 0 ? daysbuf : NULL,
	                         array};
	if ((rc = admin_begin(ctx)) != 0 || (rc = admin_exec(ctx, &stmt_set, 7, params, NULL)) != 0)
		goto out;
	json_obj_init(&details);
	json_obj_str(&details, "subject", subject);
	json_obj_int(&details, "body_size", (int64_t)body.len);
	if (v.starts != 0)
		json_obj_int(&details, "from", v.starts);
	if (v.ends != 0)
		json_obj_int(&details, "until", v.ends);
	if (days != 0)
		json_obj_int(&details, "days", days);
	json_obj_strv(&details, "addresses", (const char *const *)addrs, (unsigned)naddrs);
	if (v.starts != 0) {
		strcat(when, " from ");
		format_time(v.starts, when + strlen(when), sizeof(when) - strlen(when));
	}
	if (v.ends != 0) {
		strcat(when, " until ");
		format_time(v.ends, when + strlen(when), sizeof(when) - strlen(when));
	}
	rc = admin_change(ctx, "vacation.set", full, json_obj_finish(&details),
	                  "vacation reply set for %s%s", full, when);
	if (rc == 0 && v.ends != 0 && v.ends <= (int64_t)time(NULL))
		admin_note("--until is already past: no reply will be sent");
	json_obj_free(&details);
out:
	free(array);
	free(v.subject);
	sieve_program_free(&prog);
	sieve_errors_clear(&errors);
	sbuf_free(&script);
	sbuf_free(&body);
	return rc;
}

/* RETURNING's subquery sees the row as it was before the UPDATE (the statement's snapshot). */
static const struct db_stmt stmt_off = {
    "admin_vacation_off",
    "UPDATE vacations SET active = false, modified = now() WHERE mailbox_id = $1"
    " RETURNING (SELECT active FROM vacations WHERE mailbox_id = $1)"};

static int cmd_off(struct admin_ctx *ctx, int argc, char **argv)
{
	char full[ADDR_BUFSZ], idbuf[ADMIN_I64_BUFSZ];
	PGresult *res;
	int64_t id;
	int rc, was_active;

	if ((rc = admin_no_options(ctx, &argc, &argv, 1, 1)) != 0 ||
	    (rc = admin_mailbox_arg(ctx, argv[0], full, &id)) != 0)
		return rc;
	const char *params[1] = {admin_i64(idbuf, id)};
	if ((rc = admin_begin(ctx)) != 0 || (rc = admin_exec(ctx, &stmt_off, 1, params, &res)) != 0)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return admin_error(EX_NOUSER, "%s has no vacation reply", full);
	}
	was_active = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	/* The audit row says when it was off already; the result's details are empty. */
	if ((rc = admin_audit(ctx, "vacation.off", full,
	                      was_active ? "{}" : "{\"was_off\":true}")) != 0 ||
	    (rc = admin_commit(ctx)) != 0)
		return rc;
	char *msg = xasprintf(was_active ? "vacation reply of %s switched off"
	                                 : "the vacation reply of %s was already off",
	                      full);
	out_change(ctx->json, msg, "vacation.off", full, "{}");
	free(msg);
	return 0;
}

static const struct out_col show_cols[] = {
    {"mailbox", "MAILBOX", OUT_TEXT, 0},     {"state", "STATE", OUT_TEXT, 0},
    {"subject", "SUBJECT", OUT_TEXT, 0},     {"from", "FROM", OUT_TEXT, 0},
    {"until", "UNTIL", OUT_TEXT, 0},         {"days", "DAYS", OUT_INT, 0},
    {"addresses", "ADDRESSES", OUT_LIST, 0}, {"modified", "MODIFIED", OUT_TEXT, 0},
    {"body", "BODY", OUT_TEXT, 0},
};

/* clang-format off */
static const struct db_stmt stmt_show = {
    "admin_vacation_show",
    "SELECT $2::text, CASE WHEN NOT active THEN 'off' WHEN starts > now() THEN 'scheduled'"
    " WHEN ends <= now() THEN 'ended' ELSE 'on' END, subject, " ADMIN_SQL_UTC(
        "starts") ", " ADMIN_SQL_UTC("ends") ", days, array_to_string(addresses, E'\\n'), "
    ADMIN_SQL_UTC("modified") ", body FROM vacations WHERE mailbox_id = $1"};
/* clang-format on */

static int cmd_show(struct admin_ctx *ctx, int argc, char **argv)
{
	char full[ADDR_BUFSZ], idbuf[ADMIN_I64_BUFSZ];
	int64_t id;
	int rc, script = 0;

	if ((rc = admin_flag_option(ctx, &argc, &argv, "script", '\0', &script, 1, 1)) != 0 ||
	    (rc = admin_mailbox_arg(ctx, argv[0], full, &id)) != 0)
		return rc;
	if (script) {
		struct vacation v;
		struct sbuf text = {0};
		const char *error = NULL;
		bool found;

		if (vacation_load(ctx->conn, id, &v, &found, &error) != DB_OK)
			return admin_unavailable(error);
		if (!found)
			return admin_error(EX_NOUSER, "%s has no vacation reply", full);
		rc = vacation_script(&v, &text, &error) < 0 ? admin_error(EX_DATAERR, "%s", error)
		                                            : 0;
		if (rc == 0)
			fputs(sbuf_str(&text), stdout);
		sbuf_free(&text);
		vacation_free(&v);
		return rc;
	}
	const char *params[2] = {admin_i64(idbuf, id), full};
	return admin_show(ctx, &stmt_show, 2, params, show_cols, ARRAY_SIZE(show_cols),
	                  "%s has no vacation reply", full);
}

const struct admin_cmd admin_vacation_cmds[] = {
    {"vacation", "set", cmd_set,
     "MAILBOX --subject S --body-file F [--from DATE] [--until DATE] [--days N] "
     "[--address A]...",
     "Set an out-of-office reply",
     "Answers mail to MAILBOX with the text of F (standard input for '-') under\n"
     "the subject S, from --from on and until the end of --until, by itself: no\n"
     "other command is needed to start or stop it. It works beside the user's own\n"
     "Sieve script and follows RFC 3834: no replies to mailing lists, bulk or\n"
     "automatic mail or bounces, and one reply per sender every --days days.\n"
     "Setting it again replaces it, and senders get the new text once more.\n\n"
     "Options:\n"
     "  --subject S      the subject of the replies\n"
     "  --body-file F    the text of the replies (UTF-8)\n"
     "  --from DATE      start then (default: now); 2024-07-01, 2024-07-01T09:00,\n"
     "                   2024-07-01T09:00Z or 2024-07-01T09:00+02:00; local time\n"
     "                   without a zone\n"
     "  --until DATE     stop then; a date alone means the end of that day\n"
     "  --days N         days between two replies to one sender\n"
     "                   (default: sieve_vacation_default_period)\n"
     "  --address A      another address of the mailbox that counts as addressed\n"
     "                   to it (an alias); may be repeated\n"},
    {"vacation", "off", cmd_off, "MAILBOX", "Switch an out-of-office reply off",
     "Stops the vacation reply of MAILBOX at once. `vacation show` still shows it.\n"},
    {"vacation", "show", cmd_show, "MAILBOX [--script]", "Show an out-of-office reply",
     "Shows the vacation reply of MAILBOX and its state: on, scheduled, ended or\n"
     "off.\n\nOptions:\n  --script   print the Sieve script delivery runs for it\n"},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
