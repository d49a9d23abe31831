/*
 * imap_cmd_fetch.c: FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8; RFC 9051
 * 6.4.5) over the index: flags, UID, dates, sizes, the cached ENVELOPE and
 * BODYSTRUCTURE and MODSEQ come from the messages rows, read in batches,
 * and so does HEADER.FIELDS of the names the index caches (schema 0009);
 * a message's file is opened only for other body sections (or a missing
 * cache), read only as far as needed (its header, or all of it), and a
 * whole message (BODY[], RFC822, BINARY[]) is sent straight from its file
 * through a larger write buffer while the FETCH lasts. A
 * section without PEEK sets \Seen first, through the store, and the new
 * FLAGS go with the response (6.4.5).
 */
#include "imap_commands.h"

#include "imap_db.h"
#include "imap_envelope.h"
#include "imap_qresync.h"
#include "imap_fetch.h"
#include "imap_message.h"
#include "imap_view.h"
#include "iostream.h"
#include "log.h"
#include "message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Messages read from the index per statement. */
#define FETCH_BATCH 1000
/*
 * The write buffer while a FETCH sends the bodies of several messages: a 4 KiB
 * message per write cost more in the kernel than reading the files did. The
 * session goes back to its stream's own buffer before the next command.
 */
#define FETCH_STREAM_BUFFER (256 * 1024)

#define COLS_LIGHT                                                                                 \
	"SELECT uid, flags, array_to_string(keywords, ' '), modseq, size,"                        \
	" extract(epoch FROM internal_date)::bigint, blob, header_prefix, NULL, NULL, header_fields"
/* FLAGS, UID, RFC822.SIZE, MODSEQ alone: none of the wider columns */
#define COLS_META                                                                                  \
	"SELECT uid, flags, array_to_string(keywords, ' '), modseq, size, 0, '', '', NULL, NULL,"  \
	" NULL"
#define COLS_FULL                                                                                  \
	"SELECT uid, flags, array_to_string(keywords, ' '), modseq, size,"                        \
	" extract(epoch FROM internal_date)::bigint, blob, header_prefix, envelope, bodystructure," \
	" header_fields"
#define BY_RANGE                                                                                   \
	" FROM messages WHERE folder_id = $1 AND uid >= $2 AND uid <= $3"                         \
	" AND ($4::bigint IS NULL OR modseq > $4) ORDER BY uid"
#define BY_LIST                                                                                    \
	" FROM messages WHERE folder_id = $1 AND uid = ANY ($2::bigint[])"                        \
	" AND ($3::bigint IS NULL OR modseq > $3) ORDER BY uid"

static const struct db_stmt stmt_range_light = {"imapd_fetch_range_light", COLS_LIGHT BY_RANGE};
static const struct db_stmt stmt_range_full = {"imapd_fetch_range_full", COLS_FULL BY_RANGE};
static const struct db_stmt stmt_range_meta = {"imapd_fetch_range_meta", COLS_META BY_RANGE};
static const struct db_stmt stmt_list_light = {"imapd_fetch_list_light", COLS_LIGHT BY_LIST};
static const struct db_stmt stmt_list_full = {"imapd_fetch_list_full", COLS_FULL BY_LIST};
static const struct db_stmt stmt_list_meta = {"imapd_fetch_list_meta", COLS_META BY_LIST};

enum col {
	C_UID, C_FLAGS, C_KEYWORDS, C_MODSEQ, C_SIZE, C_DATE, C_BLOB, C_PREFIX, C_ENV, C_BS, C_HFIELDS
};

struct fetch_ctx {
	struct imap_session *sess;
	const struct fetch_request *req;
	bool *cached; /* per section: the index's cached header fields can answer it */
	struct imap_seqset seen_set; /* UIDs whose \Seen this FETCH set */
	unsigned int missing;        /* asked for and gone */
	unsigned int failed;         /* could not be read */
	bool unknown_cte;
};

/* Write s as a literal (literal8 when it holds a NUL and may, RFC 3516). */
static void append_literal(struct sbuf *out, const char *s, size_t len, bool binary)
{
	bool nul = binary && memchr(s, '\0', len) != NULL;

	sbuf_appendf(out, "%s{%zu}\r\n", nul ? "~" : "", len);
	sbuf_append(out, s, len);
}

/* The range [start, start+n) a partial fetch wants of size bytes. */
static void partial_range(const struct fetch_section *sec, uint64_t size, uint64_t *start,
			  uint64_t *n)
{
	*start = 0;
	*n = size;
	if (!sec->partial)
		return;
	*start = sec->offset < size ? sec->offset : size;
	*n = size - *start < sec->length ? size - *start : sec->length;
}

struct msg_state {
	const char *hfields; /* the index's cached header fields, or NULL */
	struct imap_msg_file file;
	bool opened;
	struct sbuf data;
	bool loaded, whole;
	struct mime_part *root;
	bool parsed;
};

static int msg_load(struct msg_state *m, bool whole, const char **error_r)
{
	int rc;

	if (m->loaded && (m->whole || !whole))
		return STORE_OK;
	sbuf_reset(&m->data);
	rc = imap_msg_read(&m->file, !whole, &m->data, error_r);
	if (rc != STORE_OK)
		return rc;
	m->loaded = true;
	m->whole = whole;
	return STORE_OK;
}

static const struct mime_part *msg_tree(struct msg_state *m)
{
	const char *error;

	if (!m->parsed) {
		m->parsed = true;
		if (mime_parse(m->data.data != NULL ? m->data.data : "", m->data.len, NULL, &m->root,
			       &error) < 0)
			m->root = NULL;
	}
	return m->root;
}

static void msg_state_free(struct msg_state *m)
{
	imap_msg_close(&m->file);
	sbuf_free(&m->data);
	mime_part_free(&m->root);
}

/* BODY[HEADER.FIELDS (...)] of the message whose names the index caches (lib/imap_envelope.h). */
static bool section_cached(const struct fetch_section *sec)
{
	if (sec->kind != SECTION_BODY || sec->nparts != 0 || sec->spec != SPEC_HEADER_FIELDS)
		return false;
	for (size_t i = 0; i < sec->nfields; i++) {
		if (!imap_header_cached(sec->fields[i], strlen(sec->fields[i])))
			return false;
	}
	return true;
}

/* Whether the request needs the message's file, with the cached fields hfields (or NULL). */
static bool sections_need_file(const struct fetch_ctx *ctx, const char *hfields)
{
	for (size_t i = 0; i < ctx->req->nsections; i++) {
		if (hfields == NULL || !ctx->cached[i])
			return true;
	}
	return false;
}

/* Body section i of the message into out (or straight to the client). */
static int send_section(struct fetch_ctx *ctx, struct msg_state *m, size_t i, struct sbuf *out,
			bool space, const char **error_r)
{
	const struct fetch_section *sec = &ctx->req->sections[i];
	struct sbuf content = {0};
	enum section_result r;
	uint64_t start, n;
	int rc;

	sbuf_appendf(out, "%s%s ", space ? " " : "", sec->name);
	if (m->hfields != NULL && ctx->cached[i]) {
		/* the same writer over the cached fields: the bytes the file would give */
		struct message_header hdr = {0};
		const char *error;
		size_t hsize;

		if (message_header_parse(m->hfields, strlen(m->hfields), NULL, &hdr, &hsize,
					 &error) == 0)
			imap_header_fields(&hdr, sec->fields, sec->nfields, true, &content);
		else /* as header_section() does with a header over the limits */
			sbuf_append_str(&content, m->hfields);
		message_header_clear(&hdr);
		partial_range(sec, content.len, &start, &n);
		append_literal(out, sbuf_str(&content) + start, (size_t)n, false);
		sbuf_free(&content);
		return STORE_OK;
	}
	if (imap_fetch_section_whole(sec) && sec->kind != SECTION_BINARY_SIZE) {
		/* the whole message from its file, without holding it */
		partial_range(sec, m->file.size, &start, &n);
		sbuf_appendf(out, "{%llu}\r\n", (unsigned long long)n);
		imap_write(ctx->sess, out->data, out->len);
		sbuf_reset(out);
		return imap_msg_send(ctx->sess, &m->file, start, n, error_r);
	}
	if (imap_fetch_section_whole(sec)) {
		sbuf_appendf(out, "%llu", (unsigned long long)m->file.size);
		return STORE_OK;
	}
	rc = msg_load(m, !imap_fetch_section_header_only(sec), error_r);
	if (rc != STORE_OK)
		return rc;
	if (!imap_fetch_section_header_only(sec) && msg_tree(m) == NULL)
		r = SECTION_NIL;
	else
		r = imap_fetch_section(sec, sbuf_str(&m->data), m->data.len,
				       m->whole ? msg_tree(m) : NULL, &content);
	if (r == SECTION_UNKNOWN_CTE)
		ctx->unknown_cte = true;
	if (sec->kind == SECTION_BINARY_SIZE) {
		sbuf_appendf(out, "%zu", r == SECTION_OK ? content.len : 0);
	} else if (r != SECTION_OK) {
		sbuf_append_str(out, "NIL");
	} else {
		partial_range(sec, content.len, &start, &n);
		append_literal(out, sbuf_str(&content) + start, (size_t)n, sec->kind == SECTION_BINARY);
	}
	sbuf_free(&content);
	return STORE_OK;
}

/* ENVELOPE, BODYSTRUCTURE or BODY computed from the message (no cache, or BODY). */
static int computed_structure(struct msg_state *m, unsigned int what, struct sbuf *out,
			      const char **error_r)
{
	int rc = msg_load(m, what != FETCH_ENVELOPE, error_r);

	if (rc != STORE_OK)
		return rc;
	if (what == FETCH_ENVELOPE) {
		struct message_header hdr = {0};
		size_t hsize;

		if (message_header_parse(sbuf_str(&m->data), m->data.len, NULL, &hdr, &hsize,
					 error_r) < 0) {
			sbuf_append_str(out, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
			return STORE_OK;
		}
		imap_envelope(&hdr, out);
		message_header_clear(&hdr);
		return STORE_OK;
	}
	if (msg_tree(m) == NULL) {
		*error_r = "cannot parse the message's MIME structure";
		return STORE_IO_ERROR;
	}
	imap_bodystructure(m->root, sbuf_str(&m->data), what == FETCH_BODYSTRUCTURE, out);
	return STORE_OK;
}

static void send_message(struct fetch_ctx *ctx, const PGresult *res, int r, size_t idx)
{
	struct imap_session *sess = ctx->sess;
	const struct fetch_request *req = ctx->req;
	uint32_t uid = (uint32_t)imap_col_i64(res, r, C_UID);
	bool env_cached = !PQgetisnull(res, r, C_ENV), bs_cached = !PQgetisnull(res, r, C_BS);
	const char *hfields = PQgetisnull(res, r, C_HFIELDS) ? NULL : PQgetvalue(res, r, C_HFIELDS);
	bool needs_file = sections_need_file(ctx, hfields) || (req->bits & FETCH_BODY) ||
			  ((req->bits & FETCH_ENVELOPE) && !env_cached) ||
			  ((req->bits & FETCH_BODYSTRUCTURE) && !bs_cached);
	bool flags = (req->bits & FETCH_FLAGS) || imap_seqset_contains(&ctx->seen_set, uid);
	struct msg_state m = {.hfields = hfields, .file = {.fd = -1}};
	const char *error = NULL;
	struct sbuf out = {0};
	int rc = STORE_OK;

	if (needs_file) {
		rc = imap_msg_open(sess, PQgetvalue(res, r, C_BLOB), PQgetvalue(res, r, C_PREFIX),
				   (uint64_t)imap_col_i64(res, r, C_SIZE), &m.file, &error);
		if (rc != STORE_OK) {
			if (rc == STORE_NOT_FOUND) {
				ctx->missing++; /* expunged meanwhile */
			} else {
				log_error("FETCH UID %u: %s", uid, error);
				ctx->failed++;
			}
			return;
		}
	}
	sbuf_append(&out, "* ", 2);
	sbuf_append_u64(&out, idx + 1);
	sbuf_append(&out, " FETCH (", 8);
	size_t mark = out.len;
#define SEP() (out.len > mark ? " " : "")
	if (req->bits & FETCH_UID) {
		sbuf_append_str(&out, SEP());
		sbuf_append(&out, "UID ", 4);
		sbuf_append_u64(&out, uid);
	}
	if (flags) {
		sbuf_append_str(&out, SEP());
		sbuf_append(&out, "FLAGS ", 6);
		imap_flags_format((unsigned int)imap_col_i64(res, r, C_FLAGS), PQgetvalue(res, r, C_KEYWORDS),
				  sess->view->msgs[idx].recent, &out);
		imap_view_keywords_seen(sess, PQgetvalue(res, r, C_KEYWORDS));
		if (sess->view->msgs[idx].modseq < imap_col_i64(res, r, C_MODSEQ))
			sess->view->msgs[idx].modseq = imap_col_i64(res, r, C_MODSEQ);
	}
	if (req->bits & FETCH_INTERNALDATE) {
		char date[IMAP_DATETIME_BUFSZ];

		imap_format_datetime(imap_col_i64(res, r, C_DATE), date);
		sbuf_appendf(&out, "%sINTERNALDATE \"%s\"", SEP(), date);
	}
	if (req->bits & FETCH_SIZE) {
		sbuf_append_str(&out, SEP());
		sbuf_append(&out, "RFC822.SIZE ", 12);
		sbuf_append_u64(&out, (uint64_t)imap_col_i64(res, r, C_SIZE));
	}
	if (req->bits & FETCH_ENVELOPE) {
		sbuf_appendf(&out, "%sENVELOPE ", SEP());
		if (env_cached)
			sbuf_append_str(&out, PQgetvalue(res, r, C_ENV));
		else
			rc = computed_structure(&m, FETCH_ENVELOPE, &out, &error);
	}
	if (rc == STORE_OK && (req->bits & FETCH_BODYSTRUCTURE)) {
		sbuf_appendf(&out, "%sBODYSTRUCTURE ", SEP());
		if (bs_cached)
			sbuf_append_str(&out, PQgetvalue(res, r, C_BS));
		else
			rc = computed_structure(&m, FETCH_BODYSTRUCTURE, &out, &error);
	}
	if (rc == STORE_OK && (req->bits & FETCH_BODY)) {
		sbuf_appendf(&out, "%sBODY ", SEP());
		rc = computed_structure(&m, FETCH_BODY, &out, &error);
	}
	if (req->bits & FETCH_MODSEQ)
		sbuf_appendf(&out, "%sMODSEQ (%lld)", SEP(), (long long)imap_col_i64(res, r, C_MODSEQ));
#undef SEP
	for (size_t i = 0; rc == STORE_OK && i < req->nsections; i++)
		rc = send_section(ctx, &m, i, &out, i > 0 || out.len > mark, &error);
	if (rc != STORE_OK) {
		log_error("FETCH UID %u: %s", uid, error);
		ctx->failed++;
	}
	sbuf_append(&out, ")\r\n", 3);
	imap_write(sess, out.data, out.len);
	sbuf_free(&out);
	msg_state_free(&m);
}

/* Set \Seen on the batch's messages first (RFC 3501 6.4.5), noting whose flags changed. */
static int mark_seen(struct fetch_ctx *ctx, const int64_t *uids, size_t n, const char **error_r)
{
	struct imap_session *sess = ctx->sess;
	struct store_flag_change *changes = NULL;
	size_t nchanges = 0;
	int rc;

	rc = store_set_flags(sess->d->store, &sess->mailbox, sess->view->folder_id, uids, n,
			     STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0, -1, &changes, &nchanges,
			     error_r);
	if (rc != STORE_OK)
		return rc;
	if (nchanges > 0)
		imap_view_forget_snapshot(sess);
	for (size_t i = 0; i < nchanges; i++)
		imap_seqset_add(&ctx->seen_set, (uint32_t)changes[i].uid, (uint32_t)changes[i].uid);
	imap_seqset_normalize(&ctx->seen_set);
	store_flag_changes_free(&changes, nchanges);
	return STORE_OK;
}

static int fetch_batch(struct fetch_ctx *ctx, const size_t *idx, size_t n, const char **error_r)
{
	struct imap_session *sess = ctx->sess;
	const struct imap_view *v = sess->view;
	bool full = (ctx->req->bits & (FETCH_ENVELOPE | FETCH_BODYSTRUCTURE)) != 0;
	bool meta = !full && ctx->req->nsections == 0 &&
		    !(ctx->req->bits & (FETCH_INTERNALDATE | FETCH_BODY));
	const struct db_stmt *by_range = full ? &stmt_range_full
					 : meta ? &stmt_range_meta : &stmt_range_light;
	const struct db_stmt *by_list = full ? &stmt_list_full
					: meta ? &stmt_list_meta : &stmt_list_light;
	bool contiguous = idx[n - 1] - idx[0] == n - 1;
	char b1[IMAP_I64_BUFSZ], b2[IMAP_I64_BUFSZ], b3[IMAP_I64_BUFSZ], b4[IMAP_I64_BUFSZ];
	const char *since = ctx->req->changedsince >= 0 ? imap_i64(b4, ctx->req->changedsince) : NULL;
	int64_t *uids = xmalloc(n * sizeof(*uids));
	struct sbuf list = {0};
	size_t next = 0;
	PGresult *res;
	int rc;

	for (size_t i = 0; i < n; i++)
		uids[i] = v->msgs[idx[i]].uid;
	if (ctx->req->sets_seen && !v->readonly &&
	    (rc = mark_seen(ctx, uids, n, error_r)) != STORE_OK) {
		free(uids);
		return rc;
	}
	imap_i64(b1, v->folder_id);
	if (contiguous) {
		const char *params[4] = {b1, imap_i64(b2, uids[0]), imap_i64(b3, uids[n - 1]), since};

		rc = imap_query(sess->d, by_range, 4, params, &res, error_r);
	} else {
		const char *params[3];

		sbuf_append_str(&list, "{");
		for (size_t i = 0; i < n; i++)
			sbuf_appendf(&list, "%s%lld", i > 0 ? "," : "", (long long)uids[i]);
		sbuf_append_str(&list, "}");
		params[0] = b1;
		params[1] = list.data;
		params[2] = since;
		rc = imap_query(sess->d, by_list, 3, params, &res, error_r);
	}
	sbuf_free(&list);
	free(uids);
	if (rc != STORE_OK)
		return rc;
	/* rows and indexes are both in UID order */
	for (int r = 0; r < PQntuples(res); r++) {
		uint32_t uid = (uint32_t)imap_col_i64(res, r, C_UID);

		while (next < n && v->msgs[idx[next]].uid < uid) {
			if (ctx->req->changedsince < 0)
				ctx->missing++;
			next++;
		}
		if (next == n || v->msgs[idx[next]].uid != uid)
			continue; /* in the range, not in the view */
		send_message(ctx, res, r, idx[next++]);
	}
	if (ctx->req->changedsince < 0)
		ctx->missing += (unsigned int)(n - next);
	PQclear(res);
	return STORE_OK;
}

/*
 * FLAGS, UID and RFC822.SIZE while the view is still at the folder snapshot
 * it opened (imap_view_cache.h): from memory, not the index. false when the
 * request or the view needs the index.
 */
static bool fetch_from_snapshot(struct imap_session *sess, const struct fetch_request *req,
				const size_t *idx, size_t n)
{
	const struct imap_snapshot *snap = imap_view_snapshot(sess);
	const struct imap_view *v = sess->view;
	struct sbuf out = {0};

	if (snap == NULL || req->nsections > 0 || req->changedsince >= 0 || req->sets_seen ||
	    (req->bits & ~(unsigned int)(FETCH_FLAGS | FETCH_UID | FETCH_SIZE)) != 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (snap->msgs[idx[i]].uid != v->msgs[idx[i]].uid ||
		    ((req->bits & FETCH_SIZE) && snap->msgs[idx[i]].size == UINT32_MAX))
			return false;
	}
	for (size_t i = 0; i < n; i++) {
		const struct imap_snapshot_msg *m = &snap->msgs[idx[i]];
		const char *sep = "";

		sbuf_append(&out, "* ", 2);
		sbuf_append_u64(&out, idx[i] + 1);
		sbuf_append(&out, " FETCH (", 8);
		if (req->bits & FETCH_UID) {
			sbuf_append(&out, "UID ", 4);
			sbuf_append_u64(&out, m->uid);
			sep = " ";
		}
		if (req->bits & FETCH_FLAGS) {
			sbuf_append_str(&out, sep);
			sbuf_append(&out, "FLAGS ", 6);
			imap_flags_format(m->flags, snap->keywords != NULL ? snap->keywords[idx[i]] : NULL,
					  v->msgs[idx[i]].recent, &out);
			sep = " ";
		}
		if (req->bits & FETCH_SIZE) {
			sbuf_append_str(&out, sep);
			sbuf_append(&out, "RFC822.SIZE ", 12);
			sbuf_append_u64(&out, m->size);
		}
		sbuf_append(&out, ")\r\n", 3);
		if (out.len >= 64 * 1024) {
			imap_write(sess, out.data, out.len);
			sbuf_reset(&out);
		}
	}
	if (out.len > 0)
		imap_write(sess, out.data, out.len);
	sbuf_free(&out);
	return true;
}

void imap_cmd_fetch(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	struct fetch_request req;
	struct fetch_ctx ctx = {.sess = sess, .req = &req};
	const char *error = NULL;
	size_t *idx = NULL, n = 0;
	int rc = STORE_OK;

	if (nargs < 2) {
		imap_tagged(sess, "BAD Syntax: FETCH sequence-set items");
		return;
	}
	if (imap_fetch_parse(args + 1, nargs - 1, sess->uid, &req, &error) < 0) {
		imap_tagged(sess, "BAD %s", error);
		imap_fetch_request_free(&req);
		return;
	}
	if (req.vanished && !(sess->enabled & IMAP_ENABLED_QRESYNC)) {
		imap_tagged(sess, "BAD VANISHED needs ENABLE QRESYNC");
		imap_fetch_request_free(&req);
		return;
	}
	if (imap_view_resolve(sess, &args[0], sess->uid, &idx, &n, &error) < 0) {
		imap_tagged(sess, "BAD %s", error);
		imap_fetch_request_free(&req);
		return;
	}
	/* RFC 7162 3.1: asking for a MODSEQ turns CONDSTORE on */
	if (req.bits & FETCH_MODSEQ)
		sess->enabled |= IMAP_ENABLED_CONDSTORE;
	if (req.vanished)
		rc = imap_fetch_vanished(sess, &args[0], req.changedsince, &error);
	else if (fetch_from_snapshot(sess, &req, idx, n))
		n = 0;
	if (req.nsections > 0 && n > 1)
		iostream_set_write_buffer(sess->s, FETCH_STREAM_BUFFER);
	ctx.cached = xcalloc(req.nsections > 0 ? req.nsections : 1, sizeof(*ctx.cached));
	for (size_t i = 0; i < req.nsections; i++)
		ctx.cached[i] = section_cached(&req.sections[i]);
	for (size_t done = 0; rc == STORE_OK && done < n; done += FETCH_BATCH)
		rc = fetch_batch(&ctx, idx + done, n - done < FETCH_BATCH ? n - done : FETCH_BATCH,
				 &error);
	if (rc != STORE_OK)
		imap_tagged_store_error(sess, rc, error);
	else if (ctx.unknown_cte)
		imap_tagged(sess, "NO [UNKNOWN-CTE] A part has an unknown Content-Transfer-Encoding");
	else if (ctx.failed > 0)
		imap_tagged(sess, "NO [SERVERBUG] Some messages could not be read");
	else if (ctx.missing > 0 && !sess->uid)
		imap_tagged(sess, "NO [EXPUNGEISSUED] Some messages were expunged");
	imap_seqset_clear(&ctx.seen_set);
	free(ctx.cached);
	imap_fetch_request_free(&req);
	free(idx);
}
