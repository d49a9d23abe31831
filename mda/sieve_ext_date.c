/*
 * sieve_ext_date.c: the date and currentdate tests (RFC 5260 4, 5) with
 * :zone / :originalzone, and :index (RFC 5260 6) through sieve_tests.c.
 *
 * Dates are parsed from RFC 5322 3.3 date-time text, obsolete forms
 * included (two-digit years, zone names, missing seconds); for "received"
 * the date after the last ';' is used. Without :index the first field of
 * the name counts. Without a zone argument dates are converted to the
 * server's local zone. An unknown date-part makes the test false; an
 * invalid :zone is ignored (both as Pigeonhole does).
 */
#include "sieve_private.h"
#include "sieve_commands.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

struct sdate {
	int64_t year;
	int month, day, hour, minute, second;
	int zone; /* minutes east of UTC */
};

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const date_parts[] = {"year",  "month",  "day",    "date", "julian",
                                         "hour",  "minute", "second", "time", "iso8601",
                                         "std11", "zone",   "weekday"};

/* Days since 1970-01-01 of a proleptic Gregorian date (civil calendar arithmetic). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int64_t to_epoch(const struct sdate *d)
{
	return days_from_civil(d->year, d->month, d->day) * 86400 + d->hour * 3600 +
	       d->minute * 60 + d->second - (int64_t)d->zone * 60;
}

static void from_epoch(int64_t t, int zone, struct sdate *d)
{
	int64_t local = t + (int64_t)zone * 60, days, secs;

	days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	secs = local - days * 86400;
	civil_from_days(days, &d->year, &d->month, &d->day);
	d->hour = (int)(secs / 3600);
	d->minute = (int)(secs / 60 % 60);
	d->second = (int)(secs % 60);
	d->zone = zone;
}

static int local_zone(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	return (int)(tm.tm_gmtoff / 60);
}

static const char *skip_cfws(const char *s)
{
	int depth = 0;

	for (;; s++) {
		if (*s == '(')
			depth++;
		else if (*s == ')' && depth > 0)
			depth--;
		else if (depth == 0 && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return s;
		if (*s == '\0')
			return s;
	}
}

static int read_int(const char **sp, int min_digits, int max_digits, int64_t *v)
{
	const char *s = *sp;
	int n = 0;

	*v = 0;
	while (isdigit((unsigned char)*s) && n < max_digits) {
		*v = *v * 10 + (*s++ - '0');
		n++;
	}
	if (n < min_digits)
		return -1;
	*sp = s;
	return n;
}

/* Parse a zone: "+hhmm" / "-hhmm" or an obsolete name (RFC 5322 4.3). */
static int parse_zone(const char *s, int *zone)
{
	static const struct {
		const char *name;
		int offset;
	} names[] = {{"UT", 0},     {"GMT", 0},    {"Z", 0},      {"EST", -300},
	             {"EDT", -240}, {"CST", -360}, {"CDT", -300}, {"MST", -420},
	             {"MDT", -360}, {"PST", -480}, {"PDT", -420}};
	size_t i, n;

	if ((s[0] == '+' || s[0] == '-') && isdigit((unsigned char)s[1]) &&
	    isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]) &&
	    isdigit((unsigned char)s[4])) {
		int v = ((s[1] - '0') * 10 + (s[2] - '0')) * 60 + (s[3] - '0') * 10 + (s[4] - '0');
		*zone = s[0] == '-' ? -v : v;
		return 0;
	}
	for (n = 0; isalpha((unsigned char)s[n]); n++)
		;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (ascii_strncaseeq(s, n, names[i].name)) {
			*zone = names[i].offset;
			return 0;
		}
	}
	*zone = 0; /* military and unknown zones mean "unknown": -0000 */
	return 0;
}

static int parse_date(const char *s, struct sdate *d)
{
	int64_t v;
	size_t i;
	int n;

	memset(d, 0, sizeof(*d));
	s = skip_cfws(s);
	if (isalpha((unsigned char)s[0])) { /* day-of-week "," */
		while (isalpha((unsigned char)*s))
			s++;
		s = skip_cfws(s);
		if (*s == ',')
			s = skip_cfws(s + 1);
	}
	if (read_int(&s, 1, 2, &v) < 0)
		return -1;
	d->day = (int)v;
	s = skip_cfws(s);
	for (i = 0; i < ARRAY_SIZE(months); i++) {
		if (strncasecmp(s, months[i], 3) == 0)
			break;
	}
	if (i == ARRAY_SIZE(months))
		return -1;
	d->month = (int)i + 1;
	s = skip_cfws(s + 3);
	if ((n = read_int(&s, 2, 9, &v)) < 0)
		return -1;
	/* RFC 5322 4.3: two-digit years 00-49 are 20xx, 50-99 19xx; three digits + 1900. */
	d->year = n == 2 ? (v < 50 ? 2000 + v : 1900 + v) : n == 3 ? 1900 + v : v;
	s = skip_cfws(s);
	if (read_int(&s, 1, 2, &v) < 0)
		return -1;
	d->hour = (int)v;
	s = skip_cfws(s);
	if (*s++ != ':')
		return -1;
	s = skip_cfws(s);
	if (read_int(&s, 2, 2, &v) < 0)
		return -1;
	d->minute = (int)v;
	s = skip_cfws(s);
	if (*s == ':') {
		s = skip_cfws(s + 1);
		if (read_int(&s, 2, 2, &v) < 0)
			return -1;
		d->second = (int)v;
		s = skip_cfws(s);
	}
	if (d->day < 1 || d->day > 31 || d->hour > 23 || d->minute > 59 || d->second > 60 ||
	    d->year > 9999)
		return -1;
	return parse_zone(s, &d->zone);
}

static int valid_zone_arg(const char *z)
{
	return strlen(z) == 5 && (z[0] == '+' || z[0] == '-') && isdigit((unsigned char)z[1]) &&
	       isdigit((unsigned char)z[2]) && isdigit((unsigned char)z[3]) &&
	       isdigit((unsigned char)z[4]);
}

static int date_part_index(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(date_parts); i++) {
		if (strcasecmp(name, date_parts[i]) == 0)
			return (int)i;
	}
	return -1;
}

/* RFC 5260 4.2: the text of one date-part. */
static void format_part(int part, const struct sdate *d, struct sbuf *out)
{
	int64_t days = days_from_civil(d->year, d->month, d->day);
	int wday = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
	int az = d->zone < 0 ? -d->zone : d->zone;
	char sign = d->zone < 0 ? '-' : '+';

	sbuf_reset(out);
	sbuf_append(out, "", 0);
	switch (part) {
	case 0:
		sbuf_appendf(out, "%04lld", (long long)d->year);
		break;
	case 1:
		sbuf_appendf(out, "%02d", d->month);
		break;
	case 2:
		sbuf_appendf(out, "%02d", d->day);
		break;
	case 3:
		sbuf_appendf(out, "%04lld-%02d-%02d", (long long)d->year, d->month, d->day);
		break;
	case 4:
		sbuf_appendf(out, "%lld", (long long)(days + 40587));
		break; /* MJD */
	case 5:
		sbuf_appendf(out, "%02d", d->hour);
		break;
	case 6:
		sbuf_appendf(out, "%02d", d->minute);
		break;
	case 7:
		sbuf_appendf(out, "%02d", d->second);
		break;
	case 8:
		sbuf_appendf(out, "%02d:%02d:%02d", d->hour, d->minute, d->second);
		break;
	case 9:
		sbuf_appendf(out, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)d->year, d->month,
		             d->day, d->hour, d->minute, d->second);
		if (d->zone == 0)
			sbuf_append_str(out, "Z");
		else
			sbuf_appendf(out, "%c%02d:%02d", sign, az / 60, az % 60);
		break;
	case 10:
		sbuf_appendf(out, "%s, %02d %c%c%c %04lld %02d:%02d:%02d %c%02d%02d", wdays[wday],
		             d->day, months[d->month - 1][0] - 32, months[d->month - 1][1],
		             months[d->month - 1][2], (long long)d->year, d->hour, d->minute,
		             d->second, sign, az / 60, az % 60);
		break;
	case 11:
		sbuf_appendf(out, "%c%02d%02d", sign, az / 60, az % 60);
		break;
	default:
		sbuf_appendf(out, "%d", wday);
		break;
	}
}

SIEVE_VALIDATE(date)
{
	(void)vc;
	(void)node;
	return 0;
}

struct date_ctx {
	const char *name;
	const char *text; /* the first field's value, or the :index one */
	int found;
};

static int first_field(struct sieve_run *run, void *ctx, const struct message_field *f)
{
	struct date_ctx *dc = ctx;

	(void)run;
	dc->text = f->value;
	dc->found = 1;
	return 1;
}

SIEVE_TEST(date)
{
	int current = strcmp(node->name, "currentdate") == 0, part, zone, have_zone = 0;
	struct sieve_arg *zarg = sieve_node_tag(node, TAG_ZONE);
	struct sbuf name = {0}, partname = {0}, value = {0};
	struct sieve_matcher m;
	struct sdate d;
	int64_t t;

	sieve_matcher_init(&m, run, node, node->pos[current ? 1 : 2]);
	sieve_expand(run, &node->pos[current ? 0 : 1]->strs[0], &partname);
	part = date_part_index(sbuf_str(&partname));
	if (zarg != NULL) {
		sieve_expand(run, &zarg->strs[0], &value);
		if (valid_zone_arg(sbuf_str(&value))) {
			parse_zone(sbuf_str(&value), &zone);
			have_zone = 1;
		}
	}
	if (part < 0)
		goto done;
	if (current) {
		t = (int64_t)run->now;
	} else {
		struct date_ctx dc;
		const char *text;
		memset(&dc, 0, sizeof(dc));
		sieve_expand(run, &node->pos[0]->strs[0], &name);
		sieve_for_each_field(run, node, node->pos[0], first_field, &dc);
		if (!dc.found)
			goto done;
		text = dc.text;
		if (strcasecmp(sbuf_str(&name), "received") == 0 && strrchr(text, ';') != NULL)
			text = strrchr(text, ';') + 1;
		if (parse_date(text, &d) < 0)
			goto done;
		t = to_epoch(&d);
		if (NODE_HAS(node, TAG_ORIGINALZONE)) {
			zone = d.zone;
			have_zone = 1;
		}
	}
	if (!have_zone)
		zone = local_zone(t);
	from_epoch(t, zone, &d);
	format_part(part, &d, &value);
	sieve_matcher_value(&m, value.data, value.len);
done:
	sbuf_free(&name);
	sbuf_free(&partname);
	sbuf_free(&value);
	return sieve_matcher_finish(&m);
}
