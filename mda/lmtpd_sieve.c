/*
 * lmtpd_sieve.c: delivery through Sieve (RFC 5228) for one recipient: load
 * and cache the scripts, run them, and carry out the result.
 *
 * The chain is the global "before" scripts (sieve_before, from
 * sieve_global_dir; lmtpd_sieve_global.c compiles them and again when their
 * files change), the mailbox's active script (sieve_scripts), the global
 * "after" scripts (sieve_after). The vacation set with
 * `sluice-admin vacation` is a script of its own (lib/vacation.h) run with
 * a separate sieve_run(): a second vacation action in one chain would be a
 * runtime error (RFC 5230 4.7).
 *
 * The cache maps a script's id and modification time to its compiled program
 * (immutable, shared between sessions, reference-counted). The time is the
 * latest `modified` of all the mailbox's scripts with their count, so a
 * `sieve put` of the script or of one it includes makes the next delivery
 * compile again; included scripts are read when it is compiled. An entry
 * also remembers the files of sieve_global_dir it included (`include
 * :global`, lmtpd_sieve_global.c's file identities): at most once a second
 * per entry a delivery looks at them, and a change, a new or a removed file
 * makes that delivery compile again; SIGHUP does it for every such entry.
 *
 * No mail is lost because of a script: a compile error found here, a
 * runtime error or a folder that cannot be made keeps the message in the
 * INBOX, with a log line naming the mailbox and the error. A database
 * failure while reading scripts or state is a temporary failure (451 4.3.0)
 * for that recipient, never a 5xx. Side effects come before the store:
 * redirects first (the injection socket down: 451, nothing stored, qmgr
 * retries), then the reject notice, vacation replies and notifications
 * (lmtpd_send.c writes and submits them). Each keep or fileinto carries the
 * header as editheader left it when the action ran (RFC 5293), for
 * lmtpd_deliver.c to store that folder's copy with it.
 */
#include "lmtpd_sieve.h"

#include "config.h"
#include "db.h"
#include "log.h"
#include "message.h"
#include "sieve.h"
#include "sieve_settings.h"
#include "sieved_scripts.h"
#include "util.h"
#include "vacation.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Compiled user scripts kept at most (unused ones are evicted first). */
#define CACHE_MAX 512

struct cache_entry {
	int64_t id;
	char modified[64];
	struct sieve_program *program; /* NULL: it did not compile (error) */
	char *error;
	struct lmtpd_sieve_global_deps *global_deps; /* NULL: includes no global script */
	/* under G.lock: */
	int64_t checked_ms; /* when global_deps were last looked at */
	bool stale;         /* a global script changed: never handed out again */
	unsigned int refs;
	uint64_t last_used;
};

static struct {
	struct sieve_settings set;
	char *inject_socket;
	pthread_mutex_t lock;
	struct cache_entry *cache[CACHE_MAX];
	size_t ncache;
	uint64_t clock;
} G = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* the version of the active script: any change to the mailbox's scripts (an
   included one too) changes it */
static const struct db_stmt stmt_active = {
    "lmtpd_sieve_active",
    "SELECT s.id, (SELECT max(modified)::text || '/' || count(*) FROM sieve_scripts "
    "WHERE mailbox_id = $1) FROM sieve_scripts s WHERE s.mailbox_id = $1 AND s.active"};
static const struct db_stmt stmt_content = {
    "lmtpd_sieve_content", "SELECT name, content FROM sieve_scripts WHERE id = $1"};
static const struct db_stmt stmt_folder = {
    "lmtpd_sieve_folder", "SELECT 1 FROM folders WHERE mailbox_id = $1 AND name = $2"};
static const struct db_stmt stmt_dup_check = {
    "lmtpd_sieve_dup_check",
    "SELECT 1 FROM sieve_duplicates WHERE mailbox_id = $1 AND id = $2 AND expires > now()"};
static const struct db_stmt stmt_dup_mark = {
    "lmtpd_sieve_dup_mark",
    "INSERT INTO sieve_duplicates (mailbox_id, id, expires) VALUES ($1, $2, now() + "
    "$3::bigint * interval '1 second') ON CONFLICT (mailbox_id, id) DO UPDATE SET expires = "
    "EXCLUDED.expires WHERE $4::boolean OR sieve_duplicates.expires <= now()"};
static const struct db_stmt stmt_dup_purge = {
    "lmtpd_sieve_dup_purge",
    "DELETE FROM sieve_duplicates WHERE mailbox_id = $1 AND expires <= now()"};
static const struct db_stmt stmt_vac_check = {
    "lmtpd_sieve_vac_check",
    "SELECT 1 FROM sieve_vacation_replies WHERE mailbox_id = $1 AND sender = $2 AND "
    "handle = $3 AND replied_at > now() - $4::bigint * interval '1 second'"};
static const struct db_stmt stmt_vac_record = {
    "lmtpd_sieve_vac_record",
    "INSERT INTO sieve_vacation_replies (mailbox_id, sender, handle, replied_at) VALUES "
    "($1, $2, $3, now()) ON CONFLICT (mailbox_id, sender, handle) DO UPDATE SET "
    "replied_at = now()"};

/* --- scripts --- */

struct include_ctx {
	struct db_conn *conn;
	int64_t mailbox_id;
	bool tempfail;
	struct lmtpd_sieve_global_deps *global_deps; /* the :global files read */
};

static int include_loader(void *ctx, enum sieve_script_location location, const char *name,
                          char **data_r, size_t *len_r, const char **error_r)
{
	struct include_ctx *ic = ctx;
	bool active;

	if (location == SIEVE_LOCATION_GLOBAL)
		return lmtpd_sieve_global_read(name, ic != NULL ? &ic->global_deps : NULL, data_r,
		                               len_r, error_r);
	if (ic == NULL || ic->conn == NULL)
		return 0;
	switch (sieve_store_get(ic->conn, ic->mailbox_id, name, data_r, len_r, &active, error_r)) {
	case SIEVE_STORE_OK:
		return 1;
	case SIEVE_STORE_NONEXISTENT:
		return 0;
	default:
		ic->tempfail = true;
		return -1;
	}
}

struct sieve_program *lmtpd_sieve_compile(const struct sieve_compile_options *opts,
                                          const char *text, size_t len, const char **error_r)
{
	struct sieve_errors errors = {0};
	struct sieve_program *program = NULL;
	struct sbuf msg = {0};

	if (sieve_compile(text, len, opts, &program, &errors) == 0)
		return program;
	sieve_errors_format(&errors, &msg);
	for (size_t i = 0; i < msg.len; i++) {
		if (msg.data[i] == '\n' || msg.data[i] == '\r')
			msg.data[i] = ';';
	}
	*error_r = errorf("compile error: %s", msg.len > 0 ? sbuf_str(&msg) : "?");
	sbuf_free(&msg);
	sieve_errors_clear(&errors);
	return NULL;
}

/* Compile a user's script (text) with its includes; NULL with *error_r when it does not. */
static struct sieve_program *compile(const char *text, size_t len, struct include_ctx *ic,
                                     const char **error_r)
{
	struct sieve_compile_options opts = G.set.compile;

	opts.include_loader = include_loader;
	opts.include_ctx = ic;
	return lmtpd_sieve_compile(&opts, text, len, error_r);
}

int lmtpd_sieve_init(const struct config *cfg, const char **error_r)
{
	if (sieve_settings_load(cfg, &G.set, error_r) < 0)
		return -1;
	G.inject_socket = xstrdup(config_str(cfg, "smtpd_inject_socket"));
	lmtpd_sieve_global_init(&G.set);
	return 0;
}

static void cache_release(struct cache_entry *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&G.lock);
	e->refs--;
	pthread_mutex_unlock(&G.lock);
}

/* Take a reference on the entry of (id, modified), or NULL when not cached. */
static struct cache_entry *cache_get(int64_t id, const char *modified)
{
	struct cache_entry *found = NULL;

	pthread_mutex_lock(&G.lock);
	for (size_t i = 0; i < G.ncache; i++) {
		if (G.cache[i]->id == id && !G.cache[i]->stale &&
		    strcmp(G.cache[i]->modified, modified) == 0) {
			found = G.cache[i];
			found->refs++;
			found->last_used = ++G.clock;
			break;
		}
	}
	pthread_mutex_unlock(&G.lock);
	return found;
}

static void entry_free(struct cache_entry *e)
{
	sieve_program_free(&e->program);
	free(e->error);
	lmtpd_sieve_global_deps_free(&e->global_deps);
	free(e);
}

/*
 * Whether a cached entry (held) is still good: false when a global script
 * it includes changed, looked at no more than once a second per entry.
 */
static bool entry_current(struct cache_entry *e)
{
	int64_t now = monotonic_ms();
	bool due;

	if (e->global_deps == NULL)
		return true;
	pthread_mutex_lock(&G.lock);
	due = now - e->checked_ms >= LMTPD_SIEVE_CHECK_MS;
	if (due)
		e->checked_ms = now;
	pthread_mutex_unlock(&G.lock);
	/* global_deps never change once the entry is cached: read without the lock */
	if (!due || !lmtpd_sieve_global_changed(e->global_deps))
		return true;
	pthread_mutex_lock(&G.lock);
	e->stale = true;
	pthread_mutex_unlock(&G.lock);
	return false;
}

void lmtpd_sieve_cache_forget_global(void)
{
	pthread_mutex_lock(&G.lock);
	for (size_t i = 0; i < G.ncache; i++) {
		if (G.cache[i]->global_deps != NULL)
			G.cache[i]->stale = true;
	}
	pthread_mutex_unlock(&G.lock);
}

/* Add a new entry (one reference for the caller), replacing older versions of the script. */
static struct cache_entry *cache_put(struct cache_entry *e)
{
	size_t i = 0;

	e->refs = 1;
	pthread_mutex_lock(&G.lock);
	e->last_used = ++G.clock;
	while (i < G.ncache) {
		struct cache_entry *o = G.cache[i];

		if (o->refs == 0 && (o->stale || o->id == e->id || G.ncache >= CACHE_MAX)) {
			G.cache[i] = G.cache[--G.ncache];
			entry_free(o);
			continue;
		}
		i++;
	}
	if (G.ncache < CACHE_MAX) {
		G.cache[G.ncache++] = e;
	} else {
		/* every entry in use: this one lives for the caller only */
		e->refs = 1U << 30;
	}
	pthread_mutex_unlock(&G.lock);
	return e;
}

/*
 * The mailbox's active script: *entry_r NULL when it has none. -1 on a
 * database failure (*error_r).
 */
static int load_user_script(struct db_conn *conn, int64_t mailbox_id, struct cache_entry **entry_r,
                            const char **error_r)
{
	char idbuf[32];
	const char *params[1] = {idbuf};
	struct include_ctx ic = {conn, mailbox_id, false, NULL};
	struct cache_entry *e;
	PGresult *res;
	int64_t id;
	char modified[64];

	*entry_r = NULL;
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)mailbox_id);
	if (db_exec(conn, &stmt_active, 1, params, &res, error_r) != DB_OK)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(modified, sizeof(modified), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	if ((*entry_r = cache_get(id, modified)) != NULL) {
		if (entry_current(*entry_r))
			return 0;
		log_info(
		    "sieve: mailbox id %lld: script id %lld: an included global script changed",
		    (long long)mailbox_id, (long long)id);
		cache_release(*entry_r);
		*entry_r = NULL;
	}

	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	if (db_exec(conn, &stmt_content, 1, params, &res, error_r) != DB_OK)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res); /* deleted meanwhile: as if none */
		return 0;
	}
	e = xcalloc(1, sizeof(*e));
	e->id = id;
	snprintf(e->modified, sizeof(e->modified), "%s", modified);
	{
		const char *cerr = NULL;

		e->program =
		    compile(PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1), &ic, &cerr);
		if (e->program == NULL)
			e->error = xasprintf("script \"%s\": %s", PQgetvalue(res, 0, 0), cerr);
		else
			log_info("sieve: mailbox id %lld: compiled script \"%s\" (id %lld)",
			         (long long)mailbox_id, PQgetvalue(res, 0, 0), (long long)id);
	}
	PQclear(res);
	e->global_deps = ic.global_deps;
	e->checked_ms = monotonic_ms();
	if (ic.tempfail) {
		entry_free(e);
		*error_r = "reading an included script failed";
		return -1;
	}
	*entry_r = cache_put(e);
	return 0;
}

/* --- the interpreter's view of the database --- */

struct run_ctx {
	struct db_conn *conn;
	int64_t mailbox_id;
	char idbuf[32];
	bool db_failed;
	char db_error[256];
};

static void ctx_failed(struct run_ctx *c, const char *error)
{
	c->db_failed = true;
	snprintf(c->db_error, sizeof(c->db_error), "%s", error);
}

static int query_exists(struct run_ctx *c, const struct db_stmt *stmt, int n,
                        const char *const *params)
{
	const char *error = NULL;
	PGresult *res;
	int found;

	if (db_exec(c->conn, stmt, n, params, &res, &error) != DB_OK) {
		ctx_failed(c, error);
		return -1;
	}
	found = PQntuples(res) > 0;
	PQclear(res);
	return found;
}

static int cb_mailbox_exists(void *ctx, const char *mailbox)
{
	struct run_ctx *c = ctx;
	const char *params[2] = {c->idbuf, mailbox};

	if (strcasecmp(mailbox, "INBOX") == 0)
		return 1;
	return query_exists(c, &stmt_folder, 2, params);
}

/* The key of a duplicate record: the handle and the id, unambiguous. */
static char *dup_key(const char *handle, const char *id)
{
	return xasprintf("%zu:%s:%s", strlen(handle), handle, id);
}

static int cb_duplicate_check(void *ctx, const char *handle, const char *id, uint64_t seconds,
                              int last)
{
	struct run_ctx *c = ctx;
	char *key = dup_key(handle != NULL ? handle : "", id);
	const char *params[2] = {c->idbuf, key};
	int r;

	(void)seconds;
	(void)last;
	r = query_exists(c, &stmt_dup_check, 2, params);
	free(key);
	return r;
}

static int cb_vacation_replied(void *ctx, const char *sender, const char *handle, uint64_t seconds)
{
	struct run_ctx *c = ctx;
	char secs[32];
	const char *params[4] = {c->idbuf, sender, handle, secs};

	snprintf(secs, sizeof(secs), "%llu", (unsigned long long)seconds);
	return query_exists(c, &stmt_vac_check, 4, params);
}

static void record_duplicates(struct run_ctx *c, const struct lmtpd_rcpt *rcpt,
                              const struct sieve_result *r)
{
	const char *error = NULL;
	PGresult *res;

	for (size_t i = 0; i < r->nduplicates; i++) {
		const struct sieve_duplicate_mark *m = &r->duplicates[i];
		char *key = dup_key(m->handle != NULL ? m->handle : "", m->id);
		char secs[32];
		const char *params[4] = {c->idbuf, key, secs, m->last ? "true" : "false"};

		snprintf(secs, sizeof(secs), "%llu", (unsigned long long)m->seconds);
		if (db_exec(c->conn, &stmt_dup_mark, 4, params, &res, &error) == DB_OK)
			PQclear(res);
		else
			log_warn("sieve: mailbox %s: duplicate state: %s", rcpt->address, error);
		free(key);
	}
	if (r->nduplicates > 0) {
		const char *params[1] = {c->idbuf};

		if (db_exec(c->conn, &stmt_dup_purge, 1, params, &res, &error) == DB_OK)
			PQclear(res);
	}
}

static void record_vacation(struct run_ctx *c, const struct lmtpd_rcpt *rcpt,
                            const struct sieve_vacation *v)
{
	const char *params[3] = {c->idbuf, v->to, v->handle};
	const char *error = NULL;
	PGresult *res;

	if (db_exec(c->conn, &stmt_vac_record, 3, params, &res, &error) == DB_OK)
		PQclear(res);
	else
		log_warn("sieve: mailbox %s: vacation state: %s", rcpt->address, error);
}

/* --- the outcome --- */

static void keep_inbox(struct lmtpd_decision *d)
{
	lmtpd_decision_clear(d);
	snprintf(d->into[0].folder, sizeof(d->into[0].folder), "INBOX");
	d->ninto = 1;
}

static void set_flags(struct lmtpd_fileinto *in, const struct sieve_action *a)
{
	static const struct {
		const char *name;
		unsigned int flag;
	} sys[] = {{"\\Seen", STORE_FLAG_SEEN},
	           {"\\Answered", STORE_FLAG_ANSWERED},
	           {"\\Flagged", STORE_FLAG_FLAGGED},
	           {"\\Deleted", STORE_FLAG_DELETED},
	           {"\\Draft", STORE_FLAG_DRAFT}};

	for (size_t i = 0; i < a->nflags; i++) {
		const char *f = a->flags[i];
		bool done = false;

		for (size_t k = 0; k < sizeof(sys) / sizeof(sys[0]); k++) {
			if (strcasecmp(f, sys[k].name) == 0) {
				in->flags |= sys[k].flag;
				done = true;
			}
		}
		if (done || f[0] == '\\' || f[0] == '\0')
			continue; /* \Recent and unknown system flags are not stored */
		in->keywords = xrealloc(in->keywords, (in->nkeywords + 1) * sizeof(char *));
		in->keywords[in->nkeywords++] = xstrdup(f);
	}
}

static void add_store(struct lmtpd_decision *d, const struct lmtpd_rcpt *rcpt,
                      const struct sieve_action *a)
{
	struct lmtpd_fileinto *in;
	const char *folder =
	    a->type == SIEVE_ACTION_KEEP || a->mailbox == NULL ? "INBOX" : a->mailbox;

	if (d->ninto >= LMTPD_MAX_FILEINTO) {
		log_warn("sieve: mailbox %s: more than %d folders, %s left out", rcpt->address,
		         LMTPD_MAX_FILEINTO, folder);
		return;
	}
	in = &d->into[d->ninto++];
	snprintf(in->folder, sizeof(in->folder), "%s", folder);
	in->create = a->create != 0;
	set_flags(in, a);
	/* RFC 5293: what is kept or filed is the message as edited when the action ran */
	if (a->edited_header != NULL) {
		struct sbuf h = {0};

		message_header_write(a->edited_header, &h);
		in->header = h.data;
		in->header_len = h.len;
	}
}

/* Reject text safe for a reply line: printable ASCII, bounded. */
static void reply_text(char *out, size_t size, const char *reason)
{
	size_t n = 0;

	for (const char *p = reason != NULL ? reason : ""; *p != '\0' && n + 1 < size; p++) {
		unsigned char ch = (unsigned char)*p;

		char c = ch > 0x20 && ch < 0x7f ? (char)ch : ' ';

		if (c == ' ' && (n == 0 || out[n - 1] == ' '))
			continue; /* line ends and runs of white space: one space */
		out[n++] = c;
		if (n >= 200)
			break;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	if (n == 0)
		snprintf(out, size, "Rejected by the recipient's filter");
}

static void tempfail(struct lmtpd_sieve_outcome *out, const char *why)
{
	lmtpd_decision_clear(&out->decision);
	out->reply = LMTPD_SIEVE_TEMPFAIL;
	snprintf(out->reason, sizeof(out->reason), "%s", why);
}

/* Carry out a successful result; -1 when the recipient must get 451. */
static int carry_out(struct lmtpd_session *sess, const struct lmtpd_rcpt *rcpt,
                     const struct sieve_result *r, const struct message *msg, struct run_ctx *c,
                     struct lmtpd_sieve_outcome *out)
{
	struct lmtpd_sieve_mail m = {
	    .inject_socket = G.inject_socket,
	    .hostname = sess->d->set.hostname,
	    .rcpt = rcpt->address,
	    .domain = rcpt->mailbox.domain,
	    .sender = sess->sender,
	    .data = msg->data,
	    .len = msg->size,
	    .body_offset = msg->body_offset,
	};
	const char *error = NULL;
	size_t i;

	out->decision.body_offset = msg->body_offset;
	/* redirects first: nothing is stored if one cannot be submitted */
	for (i = 0; i < r->count; i++) {
		const struct sieve_action *a = &r->actions[i];

		if (a->type != SIEVE_ACTION_REDIRECT)
			continue;
		if (lmtpd_sieve_redirect(&m, a->address, a->edited_header, &error) < 0) {
			log_warn("sieve: mailbox %s: redirect to %s failed: %s", rcpt->address,
			         a->address, error);
			tempfail(out, error);
			return -1;
		}
		log_info("sieve: mailbox %s: redirected to %s", rcpt->address, a->address);
	}
	for (i = 0; i < r->count; i++) {
		const struct sieve_action *a = &r->actions[i];

		switch (a->type) {
		case SIEVE_ACTION_KEEP:
		case SIEVE_ACTION_FILEINTO:
			add_store(&out->decision, rcpt, a);
			break;
		case SIEVE_ACTION_EREJECT:
			lmtpd_decision_clear(&out->decision);
			out->reply = LMTPD_SIEVE_EREJECT;
			reply_text(out->reason, sizeof(out->reason), a->reason);
			return 0;
		case SIEVE_ACTION_REJECT:
			if (sess->sender[0] == '\0') {
				log_info(
				    "sieve: mailbox %s: rejected; no notice to the null sender",
				    rcpt->address);
			} else if (lmtpd_sieve_reject_notice(&m, a->reason, &error) < 0) {
				log_warn("sieve: mailbox %s: reject notice failed: %s",
				         rcpt->address, error);
				tempfail(out, error);
				return -1;
			}
			out->rejected = true;
			break;
		case SIEVE_ACTION_VACATION:
			if (!a->vacation->send)
				break;
			if (lmtpd_sieve_vacation(&m, a->vacation, &error) < 0) {
				log_warn("sieve: mailbox %s: vacation reply to %s failed: %s",
				         rcpt->address, a->vacation->to, error);
				break;
			}
			log_info("sieve: mailbox %s: vacation reply sent to %s", rcpt->address,
			         a->vacation->to);
			record_vacation(c, rcpt, a->vacation);
			break;
		case SIEVE_ACTION_NOTIFY:
			if (!a->notify->send)
				break;
			if (lmtpd_sieve_notify(&m, a->notify, &error) < 0)
				log_warn("sieve: mailbox %s: notify %s failed: %s", rcpt->address,
				         a->notify->method, error);
			break;
		default:
			break;
		}
	}
	if (out->rejected)
		lmtpd_decision_clear(&out->decision);
	record_duplicates(c, rcpt, r);
	return 0;
}

/* The vacation of `sluice-admin vacation` (text from vacation_script_for()), a run of its own. */
static void run_vacation(struct lmtpd_session *sess, const struct lmtpd_rcpt *rcpt,
                         const struct message *msg, const struct sieve_envelope *envelope,
                         const struct sieve_env *env, struct run_ctx *c, struct sbuf *text)
{
	struct sieve_program *p;
	struct sieve_result *r;
	const char *error = NULL;

	p = compile(text->data, text->len, NULL, &error);
	if (p == NULL) {
		log_warn("sieve: mailbox %s: vacation script: %s", rcpt->address, error);
		return;
	}
	r = sieve_run(p, msg, envelope, env);
	if (r->failed) {
		char buf[LOG_UNTRUSTED_BUFSZ];

		log_warn("sieve: mailbox %s: vacation script: %s", rcpt->address,
		         log_untrusted(buf, r->error != NULL ? r->error : "?",
		                       r->error != NULL ? strlen(r->error) : 1));
	} else {
		struct sieve_result only = {0};

		/* only the reply: the store is the main chain's business */
		for (size_t i = 0; i < r->count; i++) {
			if (r->actions[i].type == SIEVE_ACTION_VACATION) {
				only.actions = &r->actions[i];
				only.count = 1;
				break;
			}
		}
		if (only.count > 0) {
			struct lmtpd_sieve_outcome dummy = {0};

			carry_out(sess, rcpt, &only, msg, c, &dummy);
			lmtpd_decision_clear(&dummy.decision);
		}
	}
	sieve_result_free(&r);
	sieve_program_free(&p);
}

/*
 * fileinto :create of a folder whose name asks for a SPECIAL-USE (RFC 6154):
 * made here with it; any other is made by the store. A folder that cannot be
 * made here is left to the store, which keeps the message in the INBOX.
 */
static void create_special(struct lmtpd_session *sess, const struct lmtpd_rcpt *rcpt,
                           struct lmtpd_decision *d)
{
	static const struct {
		const char *name, *use;
	} names[] = {
	    {"Sent", "\\Sent"},   {"Sent Messages", "\\Sent"},     {"Drafts", "\\Drafts"},
	    {"Trash", "\\Trash"}, {"Deleted Messages", "\\Trash"}, {"Junk", "\\Junk"},
	    {"Spam", "\\Junk"},   {"Archive", "\\Archive"},        {"Archives", "\\Archive"}};

	for (size_t i = 0; i < d->ninto; i++) {
		const char *error = NULL;
		int64_t id;
		int st;

		if (!d->into[i].create)
			continue;
		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			if (strcasecmp(d->into[i].folder, names[k].name) != 0)
				continue;
			st = store_folder_create(sess->d->store, &rcpt->mailbox, d->into[i].folder,
			                         names[k].use, &id, &error);
			if (st != STORE_OK && st != STORE_EXISTS)
				log_info("sieve: mailbox %s: folder %s with %s: %s", rcpt->address,
				         d->into[i].folder, names[k].use, error);
			break;
		}
	}
}

void lmtpd_sieve_decide(struct lmtpd_session *sess, const struct lmtpd_rcpt *rcpt, const char *data,
                        size_t len, struct lmtpd_sieve_outcome *out)
{
	struct db_pool *pool = store_pool(sess->d->store);
	struct cache_entry *entry = NULL;
	struct lmtpd_sieve_globals globals = {0};
	struct message *msg = NULL;
	struct sieve_result *r = NULL;
	struct run_ctx c = {0};
	struct sieve_env env = G.set.env;
	struct sieve_envelope envelope = {.from = sess->sender, .to = rcpt->address};
	struct sbuf vacation = {0};
	bool has_vacation = false;
	const char *error = NULL;

	memset(out, 0, sizeof(*out));
	keep_inbox(&out->decision);
	c.mailbox_id = rcpt->mailbox.id;
	snprintf(c.idbuf, sizeof(c.idbuf), "%lld", (long long)rcpt->mailbox.id);
	c.conn = db_acquire(pool, &error);
	if (c.conn == NULL) {
		log_warn("sieve: mailbox %s: %s", rcpt->address, error);
		tempfail(out, error);
		return;
	}
	if (load_user_script(c.conn, rcpt->mailbox.id, &entry, &error) < 0) {
		log_warn("sieve: mailbox %s: loading the script: %s", rcpt->address, error);
		tempfail(out, error);
		goto done;
	}
	if (vacation_script_for(c.conn, rcpt->mailbox.id, 0, &vacation, &has_vacation, &error) !=
	    DB_OK) {
		log_warn("sieve: mailbox %s: loading the vacation: %s", rcpt->address, error);
		tempfail(out, error);
		goto done;
	}
	if (message_parse(data, len, &env.message_limits, &msg, &error) < 0) {
		log_warn("sieve: mailbox %s: %s: message kept in INBOX", rcpt->address, error);
		goto done;
	}
	env.ctx = &c;
	env.mailbox_exists = cb_mailbox_exists;
	env.duplicate_check = cb_duplicate_check;
	env.vacation_replied = cb_vacation_replied;
	env.recipient_delimiter = sess->d->set.recipient_delimiter;
	env.env_host = sess->d->set.hostname;
	env.env_domain = rcpt->mailbox.domain;

	/* the global programs as they are now, held until this delivery is done */
	lmtpd_sieve_globals_get(&globals);
	if (entry != NULL && entry->program == NULL) {
		/* a compile error found at delivery: the message is kept */
		log_warn("sieve: mailbox %s: %s: message kept in INBOX", rcpt->address,
		         entry->error);
	} else if (entry != NULL || globals.nbefore > 0 || globals.nafter > 0) {
		r = sieve_run_chain(globals.before, globals.nbefore,
		                    entry != NULL ? entry->program : NULL, globals.after,
		                    globals.nafter, msg, &envelope, &env);
		if (c.db_failed) {
			log_warn("sieve: mailbox %s: database: %s", rcpt->address, c.db_error);
			tempfail(out, c.db_error);
			goto done;
		}
		if (r->failed) {
			const char *e = r->error != NULL ? r->error : "?";
			char buf[LOG_UNTRUSTED_BUFSZ];

			log_warn("sieve: mailbox %s: runtime error at line %u: %s: message kept in "
			         "INBOX",
			         rcpt->address, r->error_line, log_untrusted(buf, e, strlen(e)));
		} else {
			lmtpd_decision_clear(&out->decision);
			if (carry_out(sess, rcpt, r, msg, &c, out) < 0)
				goto done;
			if (out->reply == LMTPD_SIEVE_EREJECT)
				goto done;
		}
	}
	if (has_vacation)
		run_vacation(sess, rcpt, msg, &envelope, &env, &c, &vacation);
done:
	sbuf_free(&vacation);
	sieve_result_free(&r);
	lmtpd_sieve_globals_put(&globals);
	message_free(&msg);
	cache_release(entry);
	db_release(&c.conn);
	if (out->reply == LMTPD_SIEVE_STORE)
		create_special(sess, rcpt, &out->decision);
}
