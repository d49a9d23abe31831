/*
 * imap_search_eval.c: running a search program over the selected folder
 * (see imap_search.h). One statement reads the folder's index rows; each
 * message is then tested key by key, loading lazily what a key needs: the
 * cached ENVELOPE (FROM, TO, CC, BCC, SUBJECT, SENT*), the header from the
 * file (HEADER, TEXT), or its text parts decoded to UTF-8 (BODY, TEXT,
 * RFC 3501 6.4.4 "charset-aware"). Strings match as case-folded
 * substrings. Also the case folding and RFC 5322 dates SORT uses.
 */
#include "imap_search_private.h"

#include "imap_db.h"
#include "imap_envelope.h"
#include "imap_message.h"
#include "imap_view.h"
#include "log.h"
#include "message.h"
#include "mime.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <wctype.h>

#define ROWS_COLS                                                                                  \
	"SELECT uid, flags, array_to_string(keywords, ' '), modseq, size,"                        \
	" extract(epoch FROM internal_date)::bigint,"
static const struct db_stmt stmt_rows = {
    "imapd_search_rows",
    ROWS_COLS " NULL, blob, header_prefix, header_fields FROM messages WHERE folder_id = $1"
	      " ORDER BY uid"};
static const struct db_stmt stmt_rows_env = {
    "imapd_search_rows_env",
    ROWS_COLS " envelope, blob, header_prefix, header_fields FROM messages WHERE folder_id = $1"
	      " ORDER BY uid"};

/* Append the UTF-8 encoding of cp (>= 0x80) to buf at *n. */
static void put_utf8(char *buf, size_t *n, uint32_t cp)
{
	if (cp < 0x800) {
		buf[(*n)++] = (char)(0xc0 | (cp >> 6));
		buf[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		buf[(*n)++] = (char)(0xe0 | (cp >> 12));
		buf[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		buf[(*n)++] = (char)(0xf0 | (cp >> 18));
		buf[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		buf[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

void imap_casefold(const char *in, size_t len, struct sbuf *out)
{
	char buf[4096];
	size_t n = 0, i = 0;

	/* through a local buffer: this runs over every byte SEARCH TEXT reads */
	while (i < len) {
		unsigned char c = (unsigned char)in[i];
		size_t clen;
		uint32_t cp, low;

		if (n > sizeof(buf) - 4) {
			sbuf_append(out, buf, n);
			n = 0;
		}
		if (c < 0x80) {
			buf[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
			i++;
			continue;
		}
		clen = mime_utf8_char_len(in + i, len - i);
		if (clen < 2) {
			buf[n++] = (char)c; /* not UTF-8: kept as it is */
			i++;
			continue;
		}
		cp = clen == 2 ? (c & 0x1fu) : clen == 3 ? (c & 0x0fu) : (c & 0x07u);
		for (size_t k = 1; k < clen; k++)
			cp = (cp << 6) | ((unsigned char)in[i + k] & 0x3fu);
		low = (uint32_t)towlower((wint_t)cp);
		if (low < 0x80) {
			/* never folded into ASCII (KELVIN SIGN is not "k" here) */
			memcpy(buf + n, in + i, clen);
			n += clen;
		} else {
			put_utf8(buf, &n, low);
		}
		i += clen;
	}
	sbuf_append(out, buf, n);
}

/* RFC 5322 3.3 date-time, leniently: [day-name ","] day month year [hh:mm[:ss] [zone]]. */
static int parse_date(const char *s, int *y, int *mon, int *d, int *secs, int *zone)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	char word[4];
	const char *m;
	int hh = 0, mm = 0, ss = 0, n = 0;

	*secs = 0;
	*zone = 0;
	while (*s == ' ' || *s == '\t')
		s++;
	if (isalpha((unsigned char)*s)) {
		while (isalpha((unsigned char)*s))
			s++;
		while (*s == ',' || *s == ' ' || *s == '\t')
			s++;
	}
	if (sscanf(s, "%2d %3[A-Za-z] %4d%n", d, word, y, &n) != 3)
		return -1;
	s += n;
	for (char *w = word; *w != '\0'; w++)
		*w = (char)tolower((unsigned char)*w);
	m = strstr(months, word);
	if (strlen(word) != 3 || m == NULL || (m - months) % 3 != 0 || *d < 1 || *d > 31)
		return -1;
	*mon = (int)((m - months) / 3);
	/* RFC 5322 4.3: two-digit years */
	if (*y < 50)
		*y += 2000;
	else if (*y < 1000)
		*y += 1900;
	if (sscanf(s, " %2d:%2d%n", &hh, &mm, &n) == 2) {
		s += n;
		if (sscanf(s, ":%2d%n", &ss, &n) == 1)
			s += n;
		*secs = hh * 3600 + mm * 60 + ss;
		while (*s == ' ')
			s++;
		if ((*s == '+' || *s == '-') && isdigit((unsigned char)s[1])) {
			int z = atoi(s + 1);

			*zone = (z / 100) * 3600 + (z % 100) * 60;
			if (*s == '-')
				*zone = -*zone;
		}
	}
	return 0;
}

static int64_t days_of(int y, int mon, int d)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = d;
	return (int64_t)timegm(&tm) / 86400;
}

int64_t imap_rfc5322_day(const char *date)
{
	int y, mon, d, secs, zone;

	if (date == NULL || parse_date(date, &y, &mon, &d, &secs, &zone) < 0)
		return -1;
	return days_of(y, mon, d);
}

int64_t imap_rfc5322_time(const char *date)
{
	int y, mon, d, secs, zone;

	if (date == NULL || parse_date(date, &y, &mon, &d, &secs, &zone) < 0)
		return -1;
	return days_of(y, mon, d) * 86400 + secs - zone;
}

/* One message being tested, with what was loaded for it. */
struct msg {
	struct imap_session *sess;
	const PGresult *res;
	int row;
	const struct imap_snapshot *snap; /* instead of res: the folder snapshot */
	size_t seq;
	struct imap_env env; /* the cached ENVELOPE, once read */
	bool env_tried, env_ok;
	struct sbuf data; /* the header, or the whole message */
	bool have_header, have_whole, read_failed;
	struct sbuf hdr_text, body_text; /* decoded, case-folded */
	bool hdr_text_done, body_text_done;
};

static bool contains(const struct sbuf *hay, const struct skey *k)
{
	return k->len == 0 || (hay->len >= k->len && memmem(hay->data, hay->len, k->str, k->len));
}

static bool fold_contains(const char *text, size_t len, bool decode, const struct skey *k)
{
	struct sbuf dec = {0}, folded = {0};
	bool hit;

	if (decode) {
		mime_header_decode(text, len, &dec);
		imap_casefold(sbuf_str(&dec), dec.len, &folded);
	} else {
		imap_casefold(text, len, &folded);
	}
	hit = contains(&folded, k);
	sbuf_free(&dec);
	sbuf_free(&folded);
	return hit;
}

/* Read the message (whole, or its header) unless already there. */
static bool load(struct msg *m, bool whole)
{
	struct imap_msg_file f;
	const char *error;
	int rc;

	if (m->have_whole || (m->have_header && !whole))
		return true;
	if (m->read_failed)
		return false;
	rc = imap_msg_open(m->sess, PQgetvalue(m->res, m->row, SC_BLOB),
			   PQgetvalue(m->res, m->row, SC_PREFIX),
			   (uint64_t)imap_col_i64(m->res, m->row, SC_SIZE), &f, &error);
	if (rc == STORE_OK) {
		sbuf_reset(&m->data);
		rc = imap_msg_read(&f, !whole, &m->data, &error);
		imap_msg_close(&f);
	}
	if (rc != STORE_OK) {
		if (rc != STORE_NOT_FOUND)
			log_warn("SEARCH UID %s: %s", PQgetvalue(m->res, m->row, SC_UID), error);
		m->read_failed = true;
		return false;
	}
	m->have_header = true;
	m->have_whole = whole;
	return true;
}

/* The cached ENVELOPE, NULL without one (or a malformed one): the header then. */
static const struct imap_env *envelope(struct msg *m)
{
	if (!m->env_tried) {
		m->env_tried = true;
		m->env_ok = !PQgetisnull(m->res, m->row, SC_ENV) &&
			    imap_env_read(PQgetvalue(m->res, m->row, SC_ENV),
					  (size_t)PQgetlength(m->res, m->row, SC_ENV), &m->env) == 0;
	}
	return m->env_ok ? &m->env : NULL;
}

/* A header field's decoded values contain the string. */
static bool header_has(struct msg *m, const char *field, const struct skey *k)
{
	struct message_header hdr = {0};
	const char *error, *data;
	size_t hsize, len;
	bool hit = false;

	if (imap_header_cached(field, strlen(field)) && !PQgetisnull(m->res, m->row, SC_HFIELDS)) {
		/* the index holds every field of this name (lib/imap_envelope.h) */
		data = PQgetvalue(m->res, m->row, SC_HFIELDS);
		len = (size_t)PQgetlength(m->res, m->row, SC_HFIELDS);
	} else if (load(m, false)) {
		data = sbuf_str(&m->data);
		len = m->data.len;
	} else {
		return false;
	}
	if (message_header_parse(data, len, NULL, &hdr, &hsize, &error) < 0)
		return false;
	for (size_t i = 0; i < hdr.count && !hit; i++) {
		if (strcasecmp(hdr.fields[i].name, field) == 0)
			hit = fold_contains(hdr.fields[i].value, hdr.fields[i].value_len, true, k);
	}
	message_header_clear(&hdr);
	return hit;
}

static bool address_has(struct msg *m, const struct skey *k)
{
	static const char *const fields[] = {"from", "to", "cc", "bcc"};
	static const enum imap_env_field index[] = {IMAP_ENV_FROM, IMAP_ENV_TO, IMAP_ENV_CC,
						    IMAP_ENV_BCC};
	const struct imap_env *env = envelope(m);
	struct sbuf text = {0}, name = {0};
	struct imap_env_address a;
	struct imap_env_list list;
	enum imap_env_field at = IMAP_ENV_FROM;
	bool hit;

	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		if (strcmp(k->field, fields[i]) == 0)
			at = index[i];
	}
	if (env == NULL)
		return header_has(m, k->field, k);
	list = env->addr[at];
	while (imap_env_next_address(&list, &a)) {
		sbuf_reset(&name);
		if (imap_env_string_append(&a.name, &name))
			mime_header_decode(sbuf_str(&name), name.len, &text);
		sbuf_append(&text, " <", 2);
		imap_env_string_append(&a.mailbox, &text);
		sbuf_append(&text, "@", 1);
		imap_env_string_append(&a.host, &text);
		sbuf_append(&text, ">, ", 3);
	}
	hit = fold_contains(sbuf_str(&text), text.len, false, k);
	sbuf_free(&text);
	sbuf_free(&name);
	return hit;
}

static bool subject_has(struct msg *m, const struct skey *k)
{
	const struct imap_env *env = envelope(m);
	struct sbuf s = {0};
	bool hit;

	if (env == NULL)
		return header_has(m, "subject", k);
	hit = imap_env_string_append(&env->subject, &s) &&
	      fold_contains(sbuf_str(&s), s.len, true, k);
	sbuf_free(&s);
	return hit;
}

static int64_t sent_day(struct msg *m)
{
	const struct imap_env *env = envelope(m);
	struct sbuf date = {0};
	int64_t day = -1;

	if (env != NULL && imap_env_string_append(&env->date, &date))
		day = imap_rfc5322_day(sbuf_str(&date));
	sbuf_free(&date);

	/* no usable Date: the internal date stands in */
	return day >= 0 ? day : imap_col_i64(m->res, m->row, SC_DATE) / 86400;
}

static const struct sbuf *header_text(struct msg *m)
{
	if (!m->hdr_text_done && load(m, false)) {
		struct message_header hdr = {0};
		struct sbuf dec = {0};
		const char *error;
		size_t hsize = m->data.len;

		if (message_header_parse(sbuf_str(&m->data), m->data.len, NULL, &hdr, &hsize,
					 &error) == 0)
			message_header_clear(&hdr);
		mime_header_decode(sbuf_str(&m->data), hsize, &dec);
		imap_casefold(sbuf_str(&dec), dec.len, &m->hdr_text);
		sbuf_free(&dec);
		m->hdr_text_done = true;
	}
	return &m->hdr_text;
}

/* The text of every text part, decoded to UTF-8 and folded (RFC 3501 6.4.4 BODY). */
static const struct sbuf *body_text(struct msg *m)
{
	struct mime_part *root = NULL;
	struct sbuf part = {0};
	const char *error;

	if (m->body_text_done || !load(m, true))
		return &m->body_text;
	m->body_text_done = true;
	if (mime_parse(sbuf_str(&m->data), m->data.len, NULL, &root, &error) < 0) {
		imap_casefold(sbuf_str(&m->data), m->data.len, &m->body_text);
		return &m->body_text;
	}
	for (struct mime_part *p = root; p != NULL; p = mime_part_next(p, root)) {
		if (p->children != NULL || strcmp(p->ct.type, "text") != 0)
			continue;
		sbuf_reset(&part);
		mime_part_decoded(p, sbuf_str(&m->data), 1, &part);
		imap_casefold(sbuf_str(&part), part.len, &m->body_text);
		sbuf_append(&m->body_text, "\n", 1);
	}
	sbuf_free(&part);
	mime_part_free(&root);
	return &m->body_text;
}

static bool has_keyword(const char *list, const char *kw)
{
	size_t len = strlen(kw);

	while (*list != '\0') {
		const char *end = strchr(list, ' ');
		size_t n = end != NULL ? (size_t)(end - list) : strlen(list);

		if (n == len && strncasecmp(list, kw, len) == 0)
			return true;
		if (end == NULL)
			break;
		list = end + 1;
	}
	return false;
}

/* A message's index data: from its row, or from the snapshot (same order as the view). */
static uint32_t msg_uid(const struct msg *m)
{
	return m->snap != NULL ? m->snap->msgs[m->seq - 1].uid
			       : (uint32_t)imap_col_i64(m->res, m->row, SC_UID);
}

static int64_t msg_flags(const struct msg *m)
{
	return m->snap != NULL ? m->snap->msgs[m->seq - 1].flags
			       : imap_col_i64(m->res, m->row, SC_FLAGS);
}

static const char *msg_keywords(const struct msg *m)
{
	const char *kw;

	if (m->snap == NULL)
		return PQgetvalue(m->res, m->row, SC_KEYWORDS);
	kw = m->snap->keywords != NULL ? m->snap->keywords[m->seq - 1] : NULL;
	return kw != NULL ? kw : "";
}

static int64_t msg_size(const struct msg *m)
{
	return m->snap != NULL ? m->snap->msgs[m->seq - 1].size
			       : imap_col_i64(m->res, m->row, SC_SIZE);
}

static bool eval(const struct skey *k, struct msg *m)
{
	const PGresult *res = m->res;
	int r = m->row;

	switch (k->type) {
	case SK_ALL:
		return true;
	case SK_RECENT:
		if (k->flag != 0 && (msg_flags(m) & k->flag) != 0)
			return false;
		return m->sess->view->msgs[m->seq - 1].recent != k->negate;
	case SK_AND:
		for (size_t i = 0; i < k->nkids; i++) {
			if (!eval(&k->kids[i], m))
				return false;
		}
		return true;
	case SK_OR:
		return eval(&k->kids[0], m) || eval(&k->kids[1], m);
	case SK_NOT:
		return !eval(&k->kids[0], m);
	case SK_SEQSET:
		return imap_seqset_contains(&k->set, (uint32_t)m->seq);
	case SK_UIDSET:
		return imap_seqset_contains(&k->set, msg_uid(m));
	case SK_FLAG:
		return ((msg_flags(m) & k->flag) != 0) != k->negate;
	case SK_KEYWORD:
		return has_keyword(msg_keywords(m), k->str) != k->negate;
	case SK_LARGER:
		return msg_size(m) > k->num;
	case SK_SMALLER:
		return msg_size(m) < k->num;
	case SK_BEFORE:
		return imap_col_i64(res, r, SC_DATE) / 86400 < k->num;
	case SK_ON:
		return imap_col_i64(res, r, SC_DATE) / 86400 == k->num;
	case SK_SINCE:
		return imap_col_i64(res, r, SC_DATE) / 86400 >= k->num;
	case SK_SENTBEFORE:
		return sent_day(m) < k->num;
	case SK_SENTON:
		return sent_day(m) == k->num;
	case SK_SENTSINCE:
		return sent_day(m) >= k->num;
	case SK_ADDRESS:
		return address_has(m, k);
	case SK_SUBJECT:
		return subject_has(m, k);
	case SK_HEADER:
		return header_has(m, k->field, k);
	case SK_BODY:
		return contains(body_text(m), k);
	case SK_TEXT:
		return contains(header_text(m), k) || contains(body_text(m), k);
	case SK_MODSEQ:
		return imap_col_i64(res, r, SC_MODSEQ) >= k->num;
	}
	return false;
}

/*
 * Whether keys k need nothing but what a folder snapshot holds: numbers,
 * UIDs, flags, keywords, sizes (*size_r: sizes are used).
 */
static bool snapshot_keys(const struct skey *k, bool *size_r)
{
	switch (k->type) {
	case SK_AND:
	case SK_OR:
	case SK_NOT:
		for (size_t i = 0; i < k->nkids; i++) {
			if (!snapshot_keys(&k->kids[i], size_r))
				return false;
		}
		return true;
	case SK_LARGER:
	case SK_SMALLER:
		*size_r = true;
		return true;
	case SK_ALL:
	case SK_RECENT:
	case SK_SEQSET:
	case SK_UIDSET:
	case SK_FLAG:
	case SK_KEYWORD:
		return true;
	default:
		return false;
	}
}

/*
 * SEARCH of flags, keywords, sizes, numbers and UIDs while the view is at
 * its folder snapshot (imap_view_cache.h): from memory, like FETCH FLAGS.
 * false when the criteria or the view need the index.
 */
static bool run_on_snapshot(struct imap_session *sess, struct imap_search *s,
			    struct imap_search_result *r)
{
	const struct imap_snapshot *snap = imap_view_snapshot(sess);
	const struct imap_view *v = sess->view;
	struct msg m = {.sess = sess, .snap = snap};
	bool size = false;

	if (snap == NULL || !snapshot_keys(&s->root, &size))
		return false;
	for (size_t i = 0; i < snap->count; i++) {
		/* a size too large for the snapshot (UINT32_MAX) is the index's to tell */
		if (snap->msgs[i].uid != v->msgs[i].uid || (size && snap->msgs[i].size == UINT32_MAX))
			return false;
	}
	if (snap->count > 0)
		r->idx = xmalloc(snap->count * sizeof(*r->idx));
	for (size_t i = 0; i < snap->count; i++) {
		m.seq = i + 1;
		if (eval(&s->root, &m))
			r->idx[r->n++] = i;
	}
	return true;
}

int imap_search_run(struct imap_session *sess, struct imap_search *s, bool with_envelope,
		    struct imap_search_result *r, const char **error_r)
{
	const struct imap_view *v = sess->view;
	char b1[IMAP_I64_BUFSZ];
	const char *params[1] = {imap_i64(b1, v->folder_id)};
	bool env = with_envelope || (s->needs & NEEDS_ENVELOPE);
	struct msg m = {.sess = sess};
	PGresult *res;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!with_envelope && run_on_snapshot(sess, s, r))
		return STORE_OK;
	rc = imap_query(sess->d, env ? &stmt_rows_env : &stmt_rows, 1, params, &res, error_r);
	if (rc != STORE_OK)
		return rc;
	r->res = res;
	if (PQntuples(res) > 0) {
		r->idx = xmalloc((size_t)PQntuples(res) * sizeof(*r->idx));
		r->row = xmalloc((size_t)PQntuples(res) * sizeof(*r->row));
	}
	m.res = res;
	for (int row = 0; row < PQntuples(res); row++) {
		ssize_t i = imap_view_find(v, (uint32_t)imap_col_i64(res, row, SC_UID));

		/* messages the client has not been told of yet are not searched */
		if (i < 0)
			continue;
		m.row = row;
		m.seq = (size_t)i + 1;
		m.env_tried = m.have_header = m.have_whole = m.read_failed = false;
		m.hdr_text_done = m.body_text_done = false;
		sbuf_reset(&m.hdr_text);
		sbuf_reset(&m.body_text);
		if (!eval(&s->root, &m))
			continue;
		r->idx[r->n] = (size_t)i;
		r->row[r->n] = row;
		r->n++;
		if (imap_col_i64(res, row, SC_MODSEQ) > r->max_modseq)
			r->max_modseq = imap_col_i64(res, row, SC_MODSEQ);
	}
	sbuf_free(&m.data);
	sbuf_free(&m.hdr_text);
	sbuf_free(&m.body_text);
	return STORE_OK;
}

void imap_search_result_free(struct imap_search_result *r)
{
	free(r->idx);
	free(r->row);
	PQclear(r->res);
	memset(r, 0, sizeof(*r));
}
