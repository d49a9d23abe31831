/*
 * imap_session.c: the IMAP dialogue on one connection, in its own thread
 * (RFC 3501 3, RFC 9051 3): the greeting, then commands read through the
 * parser (imap_parser.c) and run from the command table below, which says
 * in which states each may run and whether it has a UID form. Literals
 * are answered here: a continuation request for synchronizing ones, and
 * the messages of APPEND streamed straight into the store's temporary
 * files instead of memory. After each command the selected mailbox's
 * changes are sent (imap_view.c), then the tagged reply.
 *
 * Trust: every byte comes from the network. Lines, commands and literals
 * are bounded; a bad command is BAD and counted, too many end the session;
 * a timeout or a shutdown ends it with BYE (RFC 3501 7.1.5).
 */
#include "imap_commands.h"
#include "imap_compress.h"
#include "imap_view.h"
#include "imapd.h"

#include "iostream.h"
#include "log.h"
#include "sasl_server.h"
#include "server.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes read at once from a literal. */
#define LITERAL_CHUNK 65536
/* MULTIAPPEND (RFC 3502): messages in one command at most, and their bytes at least allowed. */
#define IMAP_APPEND_MAX 1000
#define IMAP_APPEND_MIN_TOTAL (256ULL * 1024 * 1024)
/* A refused non-synchronizing literal up to this size is read and dropped, not fatal. */
#define IMAP_MIN_SKIP (64 * 1024 * 1024)

enum cmd_flags {
	CMD_NOT_AUTH = IMAP_STATE_NOT_AUTH,
	CMD_AUTH = IMAP_STATE_AUTH,
	CMD_SELECTED = IMAP_STATE_SELECTED,
	CMD_ANY = CMD_NOT_AUTH | CMD_AUTH | CMD_SELECTED,
	CMD_LOGGED_IN = CMD_AUTH | CMD_SELECTED,
	CMD_UID = 1 << 8,        /* also "UID <name>" */
	CMD_ONLY_UID = 1 << 9,   /* only as "UID <name>" (UID EXPUNGE) */
	CMD_NO_EXPUNGE = 1 << 10, /* RFC 3501 7.4.1: no EXPUNGE while it runs (unless UID) */
	CMD_SYNC = 1 << 11,       /* look for mailbox changes even without a notification */
};

struct imap_command {
	const char *name;
	imap_cmd_fn *run;
	unsigned int flags;
};

static const struct imap_command commands[] = {
    {"CAPABILITY", imap_cmd_capability, CMD_ANY},
    {"NOOP", imap_cmd_noop, CMD_ANY | CMD_SYNC},
    {"LOGOUT", imap_cmd_logout, CMD_ANY},
    {"ID", imap_cmd_id, CMD_ANY},
    {"STARTTLS", imap_cmd_starttls, CMD_NOT_AUTH},
    {"LOGIN", imap_cmd_login, CMD_NOT_AUTH},
    {"AUTHENTICATE", imap_cmd_authenticate, CMD_NOT_AUTH},
    {"ENABLE", imap_cmd_enable, CMD_AUTH},
    {"NAMESPACE", imap_cmd_namespace, CMD_LOGGED_IN},
    {"COMPRESS", imap_cmd_compress, CMD_LOGGED_IN},
    {"SELECT", imap_cmd_select, CMD_LOGGED_IN},
    {"EXAMINE", imap_cmd_examine, CMD_LOGGED_IN},
    {"CREATE", imap_cmd_create, CMD_LOGGED_IN},
    {"DELETE", imap_cmd_delete, CMD_LOGGED_IN},
    {"RENAME", imap_cmd_rename, CMD_LOGGED_IN},
    {"SUBSCRIBE", imap_cmd_subscribe, CMD_LOGGED_IN},
    {"UNSUBSCRIBE", imap_cmd_unsubscribe, CMD_LOGGED_IN},
    {"LIST", imap_cmd_list, CMD_LOGGED_IN},
    {"LSUB", imap_cmd_lsub, CMD_LOGGED_IN},
    {"STATUS", imap_cmd_status, CMD_LOGGED_IN},
    {"CHECK", imap_cmd_check, CMD_SELECTED | CMD_SYNC},
    {"CLOSE", imap_cmd_close, CMD_SELECTED},
    {"UNSELECT", imap_cmd_unselect, CMD_SELECTED},
    {"EXPUNGE", imap_cmd_expunge, CMD_SELECTED | CMD_UID},
    {"FETCH", imap_cmd_fetch, CMD_SELECTED | CMD_UID | CMD_NO_EXPUNGE},
    {"STORE", imap_cmd_store, CMD_SELECTED | CMD_UID | CMD_NO_EXPUNGE},
    /* RFC 3501 6.3.11: into the selected mailbox, EXISTS at once (so also COPY, MOVE) */
    {"COPY", imap_cmd_copy, CMD_SELECTED | CMD_UID | CMD_SYNC},
    {"MOVE", imap_cmd_move, CMD_SELECTED | CMD_UID | CMD_SYNC},
    {"SEARCH", imap_cmd_search, CMD_SELECTED | CMD_UID | CMD_NO_EXPUNGE},
    {"SORT", imap_cmd_sort, CMD_SELECTED | CMD_UID | CMD_NO_EXPUNGE},
    {"THREAD", imap_cmd_thread, CMD_SELECTED | CMD_UID | CMD_NO_EXPUNGE},
    {"IDLE", imap_cmd_idle, CMD_LOGGED_IN},
    {"APPEND", imap_cmd_append, CMD_LOGGED_IN | CMD_SYNC},
    {"GETQUOTA", imap_cmd_getquota, CMD_LOGGED_IN},
    {"GETQUOTAROOT", imap_cmd_getquotaroot, CMD_LOGGED_IN},
    {"SETQUOTA", imap_cmd_setquota, CMD_LOGGED_IN},
};

static const struct imap_command *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

void imap_session_refuse(struct server_conn *conn, enum server_refusal why)
{
	/* RFC 3501 7.1.5: BYE as the greeting refuses the connection */
	iostream_write_str(conn->stream, why == SERVER_REFUSE_PER_IP
					     ? "* BYE [UNAVAILABLE] Too many connections from your address\r\n"
					     : "* BYE [UNAVAILABLE] Too many connections, try again later\r\n");
	iostream_flush(conn->stream);
}

void imap_count_bad(struct imap_session *sess)
{
	sess->bad_commands++;
}

static void set_read_timeout(struct imap_session *sess)
{
	int64_t ms = sess->state == IMAP_STATE_NOT_AUTH ? sess->d->set.login_timeout_ms
							 : sess->d->set.idle_timeout_ms;

	iostream_set_timeouts(sess->s, (int)ms, IMAPD_WRITE_TIMEOUT_MS);
}

int imap_read_continuation(struct imap_session *sess, const char **line_r, size_t *len_r)
{
	struct iostream_line line;
	enum iostream_status st;

	if (iostream_flush(sess->s) != IOSTREAM_OK) {
		sess->state = IMAP_STATE_LOGOUT;
		return -1;
	}
	st = iostream_read_line(sess->s, sess->d->set.max_line, &line);
	if (st == IOSTREAM_TOO_LONG)
		return -2;
	if (st != IOSTREAM_OK) {
		if (st == IOSTREAM_TIMEOUT)
			imap_untagged(sess, "BYE Autologout; idle for too long");
		else if (st == IOSTREAM_INTERRUPTED)
			imap_untagged(sess, "BYE [UNAVAILABLE] Server shutting down");
		iostream_flush(sess->s);
		sess->state = IMAP_STATE_LOGOUT;
		return -1;
	}
	*line_r = line.data;
	*len_r = line.len;
	return 0;
}

static void append_msgs_clear(struct imap_session *sess)
{
	for (size_t i = 0; i < sess->nappends; i++)
		store_msg_free(&sess->appends[i].msg);
	sess->nappends = 0;
	sess->append_bytes = 0;
	sess->append_toobig = false;
}

/* All the messages of one APPEND together: four times APPENDLIMIT, at least 256 MiB. */
static uint64_t append_total_max(const struct imap_session *sess)
{
	uint64_t max = (uint64_t)sess->d->set.max_message_size * 4;

	return max < IMAP_APPEND_MIN_TOTAL ? IMAP_APPEND_MIN_TOTAL : max;
}

enum read_result {
	READ_COMMAND, /* a command is parsed */
	READ_DONE,    /* a bad command was answered */
	READ_CLOSE,   /* the session ends */
};

/* Write "tag text" (the tag "*" when unknown) and count a bad command. */
static void reply_bad(struct imap_session *sess, const char *fmt, const char *text)
{
	bool count = strncmp(fmt, "BAD", 3) == 0;

	const char *tag = imap_parser_tag(sess->parser);
	char line[512];

	snprintf(line, sizeof(line), "%s ", tag != NULL ? tag : "*");
	iostream_write_str(sess->s, line);
	snprintf(line, sizeof(line), fmt, text);
	iostream_write_str(sess->s, line);
	iostream_write_str(sess->s, "\r\n");
	if (count)
		imap_count_bad(sess);
}

/* The end of the session on a read failure. */
static enum read_result read_failed(struct imap_session *sess, enum iostream_status st)
{
	if (st == IOSTREAM_TIMEOUT)
		imap_untagged(sess, "BYE Autologout; idle for too long");
	else if (st == IOSTREAM_INTERRUPTED)
		imap_untagged(sess, "BYE [UNAVAILABLE] Server shutting down");
	else if (st != IOSTREAM_EOF)
		log_info("read failed: %s", iostream_error(sess->s));
	return READ_CLOSE;
}

/* Read exactly n bytes and feed them to the parser (or throw them away). */
static enum read_result feed_literal(struct imap_session *sess, uint64_t n)
{
	char *buf = xmalloc(LITERAL_CHUNK);
	enum read_result rr = READ_COMMAND;

	while (n > 0) {
		size_t chunk = n > LITERAL_CHUNK ? LITERAL_CHUNK : (size_t)n, used;
		enum iostream_status st = iostream_read_exact(sess->s, buf, chunk);

		if (st != IOSTREAM_OK) {
			rr = read_failed(sess, st);
			break;
		}
		imap_parser_feed(sess->parser, buf, chunk, &used);
		n -= chunk;
	}
	free(buf);
	return rr;
}

/* Whether a literal of this command is a message of APPEND (RFC 3502: every one but the name). */
static bool is_append_message(struct imap_session *sess, const struct imap_literal *lit)
{
	const char *cmd = imap_parser_command(sess->parser);

	return cmd != NULL && strcmp(cmd, "APPEND") == 0 && lit->top_index >= 1 &&
	       sess->state != IMAP_STATE_NOT_AUTH && !lit->skipping;
}

/* Read an APPEND message literal into a new store message. */
static enum read_result stream_append(struct imap_session *sess, const struct imap_literal *lit)
{
	struct imap_append_msg *am;
	char *buf;
	uint64_t n = lit->size;
	const char *error = NULL;
	enum read_result rr = READ_COMMAND;

	if (lit->size > (uint64_t)sess->d->set.max_message_size ||
	    sess->nappends >= IMAP_APPEND_MAX ||
	    sess->append_bytes + lit->size > append_total_max(sess)) {
		/* RFC 7889: the message is over APPENDLIMIT (or the command over our caps) */
		enum imap_parse_result r = imap_parser_literal_skip(sess->parser, "Message too large");

		sess->append_toobig = true;
		if (r == IMAP_PARSE_ERROR) {
			reply_bad(sess, "%s", "NO [TOOBIG] Message too large");
			return READ_DONE;
		}
		if (r == IMAP_PARSE_FATAL) {
			imap_untagged(sess, "BYE Literal too large");
			return READ_CLOSE;
		}
		return feed_literal(sess, lit->size);
	}
	if (sess->nappends == sess->appends_cap) {
		sess->appends_cap = sess->appends_cap == 0 ? 4 : sess->appends_cap * 2;
		sess->appends = xrealloc(sess->appends, sess->appends_cap * sizeof(*sess->appends));
	}
	am = &sess->appends[sess->nappends++];
	memset(am, 0, sizeof(*am));
	sess->append_bytes += lit->size;
	am->literal8 = lit->literal8;
	am->status = store_msg_begin(sess->d->store, &am->msg, &error);
	if (am->status != STORE_OK)
		log_warn("APPEND: %s", error);
	if (lit->sync) {
		iostream_write_str(sess->s, "+ Ready for literal data\r\n");
		if (iostream_flush(sess->s) != IOSTREAM_OK)
			return READ_CLOSE;
	}
	buf = xmalloc(LITERAL_CHUNK);
	while (n > 0) {
		size_t chunk = n > LITERAL_CHUNK ? LITERAL_CHUNK : (size_t)n;
		enum iostream_status st = iostream_read_exact(sess->s, buf, chunk);

		if (st != IOSTREAM_OK) {
			rr = read_failed(sess, st);
			break;
		}
		if (!am->has_nul && memchr(buf, '\0', chunk) != NULL)
			am->has_nul = true;
		if (am->status == STORE_OK &&
		    (am->status = store_msg_write(am->msg, buf, chunk, &error)) != STORE_OK)
			log_warn("APPEND: %s", error);
		n -= chunk;
	}
	free(buf);
	if (rr != READ_COMMAND)
		return rr;
	if (am->status == STORE_OK && (am->status = store_msg_finish(am->msg, &error)) != STORE_OK)
		log_warn("APPEND: %s", error);
	imap_parser_literal_streamed(sess->parser, sess->nappends - 1);
	return READ_COMMAND;
}

static enum read_result handle_literal(struct imap_session *sess)
{
	const struct imap_literal *lit = imap_parser_literal(sess->parser);
	enum imap_parse_result r;

	if (is_append_message(sess, lit))
		return stream_append(sess, lit);
	r = imap_parser_literal_accept(sess->parser);
	if (r == IMAP_PARSE_ERROR) {
		reply_bad(sess, "BAD %s", imap_parser_error(sess->parser));
		return READ_DONE;
	}
	if (r == IMAP_PARSE_FATAL) {
		imap_untagged(sess, "BYE %s", imap_parser_error(sess->parser));
		return READ_CLOSE;
	}
	if (lit->sync && !lit->skipping) {
		/* RFC 3501 7.5: the go-ahead for a synchronizing literal */
		iostream_write_str(sess->s, "+ Ready for literal data\r\n");
		if (iostream_flush(sess->s) != IOSTREAM_OK)
			return READ_CLOSE;
	}
	return feed_literal(sess, lit->size);
}

/* Read lines (and literals) until a command is whole or found bad. */
static enum read_result read_command(struct imap_session *sess)
{
	struct iostream_line line;
	enum iostream_status st;
	enum imap_parse_result r;
	enum read_result rr;
	size_t used;

	imap_parser_reset(sess->parser);
	append_msgs_clear(sess);
	/* a FETCH of bodies may have lent the stream a larger buffer: give it back */
	if (iostream_set_write_buffer(sess->s, 0) != IOSTREAM_OK)
		return READ_CLOSE;
	for (;;) {
		if (iostream_pending(sess->s) == 0 && iostream_flush(sess->s) != IOSTREAM_OK)
			return READ_CLOSE;
		st = iostream_read_line(sess->s, sess->d->set.max_line, &line);
		if (st == IOSTREAM_TOO_LONG) {
			char tag[64];
			size_t n = 0;

			/* the tag, if the start of the line has one */
			while (n < line.len && n < sizeof(tag) - 1 && line.data[n] != ' ' &&
			       line.data[n] > 0x20 && line.data[n] < 0x7f)
				n++;
			memcpy(tag, line.data, n);
			tag[n] = '\0';
			imap_parser_reset(sess->parser);
			iostream_write_str(sess->s, n > 0 && n < line.len ? tag : "*");
			iostream_write_str(sess->s, " BAD Command line too long\r\n");
			imap_count_bad(sess);
			return READ_DONE;
		}
		if (st != IOSTREAM_OK)
			return read_failed(sess, st);
		imap_parser_feed(sess->parser, line.data, line.len, &used);
		r = imap_parser_feed(sess->parser, line.eol == IOSTREAM_EOL_CRLF ? "\r\n" : "\n",
				     line.eol == IOSTREAM_EOL_CRLF ? 2 : 1, &used);
		while (r == IMAP_PARSE_LITERAL) {
			rr = handle_literal(sess);
			if (rr != READ_COMMAND)
				return rr;
			/* the line goes on after the literal */
			r = IMAP_PARSE_MORE;
		}
		switch (r) {
		case IMAP_PARSE_DONE:
			return READ_COMMAND;
		case IMAP_PARSE_ERROR:
			if (sess->append_toobig)
				reply_bad(sess, "%s", "NO [TOOBIG] Message too large");
			else
				reply_bad(sess, "BAD %s", imap_parser_error(sess->parser));
			return READ_DONE;
		case IMAP_PARSE_FATAL:
			imap_untagged(sess, "BYE %s", imap_parser_error(sess->parser));
			return READ_CLOSE;
		default:
			break; /* MORE: the command goes on after a literal */
		}
	}
}

static void run_command(struct imap_session *sess)
{
	const struct imap_command *cmd = NULL;
	const struct imap_arg *args;
	const char *name = imap_parser_command(sess->parser);
	size_t nargs;

	args = imap_parser_args(sess->parser, &nargs);
	sess->tag = imap_parser_tag(sess->parser);
	sess->uid = false;
	sbuf_reset(&sess->tagged);
	if (strcmp(name, "UID") == 0) {
		char sub[32];

		if (nargs == 0 || args[0].type != IMAP_ARG_ATOM || args[0].len >= sizeof(sub)) {
			imap_tagged(sess, "BAD Missing UID command");
			goto bad;
		}
		snprintf(sub, sizeof(sub), "%s", args[0].str);
		for (char *c = sub; *c != '\0'; c++)
			*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
		cmd = find_command(sub);
		if (cmd == NULL || !(cmd->flags & (CMD_UID | CMD_ONLY_UID))) {
			imap_tagged(sess, "BAD Unknown UID command");
			goto bad;
		}
		sess->uid = true;
		args++;
		nargs--;
	} else {
		cmd = find_command(name);
		if (cmd == NULL) {
			imap_tagged(sess, "BAD Unknown command");
			goto bad;
		}
		if (cmd->flags & CMD_ONLY_UID) {
			imap_tagged(sess, "BAD %s needs UID", cmd->name);
			goto bad;
		}
	}
	if (!(cmd->flags & sess->state)) {
		imap_tagged(sess, "BAD %s", sess->state == IMAP_STATE_NOT_AUTH
						? "Log in first"
						: sess->state == IMAP_STATE_AUTH ? "No mailbox selected"
										 : "Not valid in this state");
		goto bad;
	}
	cmd->run(sess, args, nargs);
	if (strncmp(sbuf_str(&sess->tagged), "BAD", 3) == 0)
		imap_count_bad(sess);
	if (sess->view != NULL) {
		/* RFC 3501 7: the updates come before the tagged reply */
		imap_view_sync(sess, sess->uid || !(cmd->flags & CMD_NO_EXPUNGE),
			       (cmd->flags & CMD_SYNC) != 0);
		if (sess->view->deleted) {
			imap_untagged(sess, "BYE [UNAVAILABLE] The selected mailbox was deleted");
			sess->state = IMAP_STATE_LOGOUT;
		}
	}
	goto reply;
bad:
	imap_count_bad(sess);
reply:
	if (sess->tag == NULL)
		return; /* the command sent its tagged reply itself (STARTTLS) */
	if (sess->tagged.len == 0)
		imap_tagged(sess, "OK %s completed", cmd != NULL ? cmd->name : name);
	iostream_write_str(sess->s, sess->tag);
	iostream_write_str(sess->s, " ");
	iostream_write(sess->s, sess->tagged.data, sess->tagged.len);
	iostream_write_str(sess->s, "\r\n");
	sess->tag = NULL;
}

static void session_free(struct imap_session *sess)
{
	append_msgs_clear(sess);
	free(sess->appends);
	sasl_session_destroy(&sess->sasl);
	imap_login_end(sess);
	imap_seqset_clear(&sess->saved);
	sbuf_free(&sess->tagged);
	imap_parser_destroy(&sess->parser);
}

void imap_session_run(struct server_conn *conn)
{
	struct imap_session sess;
	struct imap_parser_limits lim;
	struct sbuf greeting = {0};

	memset(&sess, 0, sizeof(sess));
	sess.d = conn->context;
	sess.conn = conn;
	sess.s = conn->stream;
	sess.state = IMAP_STATE_NOT_AUTH;
	lim.max_line = sess.d->set.max_line;
	lim.max_command = sess.d->set.max_command;
	/* RFC 7889 4: an APPEND over the limit may come anyway (LITERAL+): read and drop it */
	lim.max_skip = (uint64_t)sess.d->set.max_message_size * 2;
	if (lim.max_skip < IMAP_MIN_SKIP)
		lim.max_skip = IMAP_MIN_SKIP;
	lim.max_depth = 64;
	lim.max_args = 100000;
	sess.parser = imap_parser_create(&lim);

	imap_capabilities(&sess, &greeting);
	imap_untagged(&sess, "OK [CAPABILITY %s] %s Sluice IMAP ready", sbuf_str(&greeting),
		      sess.d->set.hostname);
	sbuf_free(&greeting);
	while (sess.state != IMAP_STATE_LOGOUT) {
		enum read_result rr;

		if (sess.bad_commands > sess.d->set.max_bad_commands) {
			imap_untagged(&sess, "BYE Too many invalid commands");
			break;
		}
		if (server_stopping(sess.d->server) && iostream_pending(sess.s) == 0) {
			imap_untagged(&sess, "BYE [UNAVAILABLE] Server shutting down");
			break;
		}
		set_read_timeout(&sess);
		rr = read_command(&sess);
		if (rr == READ_CLOSE)
			break;
		if (rr == READ_COMMAND)
			run_command(&sess);
	}
	iostream_flush(sess.s);
	/* the relay owns the connection's stream until it is done */
	imap_compress_stop(&sess.compress, &sess.s);
	session_free(&sess);
}
