/*
 * sieved_commands.c: the ManageSieve script commands (RFC 5804 2.5-2.12)
 * and the command table of sluice-sieved.
 *
 * Scripts live in the database (sieved_scripts.c). Every change is one
 * transaction under the mailbox's script lock; a database that fails is
 * NO (TRYLATER), never a crash nor a wrong answer. PUTSCRIPT and CHECKSCRIPT
 * compile first with the compiler sluice-lmtpd runs, and answer its errors
 * with their line numbers; SETACTIVE compiles too, with every include
 * required. Limits: sieve_max_script_size (QUOTA/MAXSIZE), sieved_max_scripts
 * (QUOTA/MAXSCRIPTS), sieved_max_script_name. Trust: arguments are untrusted
 * client input; the session checked their count and the state.
 */
#include "sieved.h"
#include "sieved_scripts.h"

#include "db.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A script name argument: a string that passes the RFC 5804 1.6 rules. */
static bool name_arg(struct sieved_session *ss, const struct sieved_token *t)
{
	const char *why;

	if (t->type != SIEVED_TOKEN_STRING) {
		sieved_reply(ss, "NO", NULL, "A script name must be a string");
		return false;
	}
	why = sieve_script_name_check(t->data, t->len, ss->d->set.max_name_chars);
	if (why != NULL) {
		sieved_reply(ss, "NO", NULL, errorf("Invalid script name: %s", why));
		return false;
	}
	return true;
}

static bool string_arg(struct sieved_session *ss, const struct sieved_token *t, const char *what)
{
	if (t->type != SIEVED_TOKEN_STRING) {
		sieved_reply(ss, "NO", NULL, errorf("The %s must be a string", what));
		return false;
	}
	return true;
}

static void log_name(const char *what, const struct sieved_token *t, const char *extra)
{
	char n[LOG_UNTRUSTED_BUFSZ];

	log_info("%s: name=\"%s\"%s", what, log_untrusted(n, t->data, t->len), extra);
}

/* A status that is not OK, as the response RFC 5804 gives it. */
static void reply_status(struct sieved_session *ss, const char *what, enum sieve_store_status st,
                         const char *error)
{
	switch (st) {
	case SIEVE_STORE_NONEXISTENT:
		sieved_reply(ss, "NO", "NONEXISTENT", "There is no script by that name");
		break;
	case SIEVE_STORE_EXISTS:
		sieved_reply(ss, "NO", "ALREADYEXISTS", "A script by that name already exists");
		break;
	case SIEVE_STORE_ACTIVE:
		sieved_reply(ss, "NO", "ACTIVE", "You may not delete the active script");
		break;
	case SIEVE_STORE_MAXSCRIPTS:
		sieved_reply(ss, "NO", "QUOTA/MAXSCRIPTS",
		             errorf("You may have at most %u scripts", ss->d->set.max_scripts));
		break;
	case SIEVE_STORE_TEMPFAIL:
		sieved_reply_trylater(ss, what, error);
		break;
	default:
		/* the database refused a statement: a bug or a broken schema, not the user's */
		log_error("%s: database error: %s", what, error != NULL ? error : "unknown");
		sieved_reply(ss, "NO", "TRYLATER", "Internal error, try again later");
		break;
	}
}

static bool size_ok(struct sieved_session *ss, uint64_t size)
{
	if (size > ss->d->set.max_script_size) {
		sieved_reply(
		    ss, "NO", "QUOTA/MAXSIZE",
		    errorf("A script may have at most %zu octets", ss->d->set.max_script_size));
		return false;
	}
	return true;
}

/* Begin a change: a transaction holding the mailbox's script lock. */
static struct db_conn *begin_change(struct sieved_session *ss, const char *what)
{
	const char *error = NULL;
	enum sieve_store_status st;
	struct db_conn *c = sieved_db(ss);

	if (c == NULL)
		return NULL;
	if (db_begin(c, &error) != DB_OK) {
		db_release(&c);
		sieved_reply_trylater(ss, what, error);
		return NULL;
	}
	st = sieve_store_lock(c, ss->mailbox_id, &error);
	if (st != SIEVE_STORE_OK) {
		db_rollback(c);
		db_release(&c);
		reply_status(ss, what, st, error);
		return NULL;
	}
	return c;
}

/* Commit a change: true when done; otherwise answered. */
static bool commit_change(struct sieved_session *ss, struct db_conn **c, const char *what)
{
	const char *error = NULL;
	enum db_status st = db_commit(*c, &error);

	if (st != DB_OK)
		db_rollback(*c);
	db_release(c);
	if (st != DB_OK) {
		reply_status(ss, what, st == DB_TEMPFAIL ? SIEVE_STORE_TEMPFAIL : SIEVE_STORE_ERROR,
		             error);
		return false;
	}
	return true;
}

static void abort_change(struct db_conn **c)
{
	db_rollback(*c);
	db_release(c);
}

/*
 * Compile a script for the current user. true when it compiles (warnings
 * in *warnings); false after answering NO with the errors or TRYLATER.
 */
static bool check_script(struct sieved_session *ss, struct db_conn *c, const char *name,
                         const char *content, size_t len, enum sieve_check_mode mode,
                         struct sbuf *warnings)
{
	struct sieve_check check = {
	    .conn = c,
	    .mailbox_id = ss->mailbox_id,
	    .options = &ss->d->sieve.compile,
	    .global_dir = ss->d->sieve.global_dir,
	    .mode = mode,
	    .name = name,
	};
	struct sbuf errors = {0};
	const char *error = NULL;

	switch (sieve_script_check(&check, content, len, &errors, warnings, &error)) {
	case SIEVE_CHECK_OK:
		sbuf_free(&errors);
		return true;
	case SIEVE_CHECK_INVALID:
		/* the compiler's lines, "line L, column C: message", as the reason */
		while (errors.len > 0 && errors.data[errors.len - 1] == '\n')
			errors.data[--errors.len] = '\0';
		sieved_reply_len(ss, "NO", NULL, errors.data, errors.len);
		sbuf_free(&errors);
		return false;
	default:
		sbuf_free(&errors);
		sieved_reply_trylater(ss, "compile", error);
		return false;
	}
}

/*
 * Inside a change's transaction, after the change: the active script (unless
 * it is `changed`, checked already) must still compile with the scripts it
 * includes as the change left them, or what runs at delivery would break.
 * false after answering NO.
 */
static bool active_still_valid(struct sieved_session *ss, struct db_conn *c, const char *changed)
{
	struct sieve_check check = {
	    .conn = c,
	    .mailbox_id = ss->mailbox_id,
	    .options = &ss->d->sieve.compile,
	    .global_dir = ss->d->sieve.global_dir,
	};
	struct sbuf errors = {0}, text = {0};
	const char *error = NULL;
	char *active = NULL;

	switch (sieve_check_active(&check, changed, &active, &errors, &error)) {
	case SIEVE_CHECK_OK:
		return true;
	case SIEVE_CHECK_INVALID:
		while (errors.len > 0 && errors.data[errors.len - 1] == '\n')
			errors.data[--errors.len] = '\0';
		sbuf_appendf(&text, "The active script \"%s\" would no longer compile:\n%s", active,
		             sbuf_str(&errors));
		sieved_reply_len(ss, "NO", NULL, text.data, text.len);
		sbuf_free(&text);
		sbuf_free(&errors);
		free(active);
		return false;
	default:
		sbuf_free(&errors);
		sieved_reply_trylater(ss, "check the active script", error);
		return false;
	}
}

static void reply_ok_warnings(struct sieved_session *ss, struct sbuf *warnings, const char *text)
{
	if (warnings->len == 0) {
		sieved_reply(ss, "OK", NULL, text);
		return;
	}
	while (warnings->len > 0 && warnings->data[warnings->len - 1] == '\n')
		warnings->data[--warnings->len] = '\0';
	/* RFC 5804 1.3: WARNINGS with the text of the warnings */
	sieved_reply_len(ss, "OK", "WARNINGS", warnings->data, warnings->len);
}

/* HAVESPACE name size (RFC 5804 2.5). */
static void cmd_havespace(struct sieved_session *ss, const struct sieved_command *cmd)
{
	const struct sieved_token *size_tok = &cmd->tokens[2];
	const char *name = cmd->tokens[1].data, *error = NULL;
	enum sieve_store_status st;
	unsigned int count;
	uint64_t size = 0;
	struct db_conn *c;
	bool exists;

	if (!name_arg(ss, &cmd->tokens[1]))
		return;
	if (size_tok->type != SIEVED_TOKEN_ATOM || size_tok->len == 0 || size_tok->len > 19 ||
	    strspn(size_tok->data, "0123456789") != size_tok->len) {
		sieved_reply(ss, "NO", NULL, "The size must be a number");
		return;
	}
	size = strtoull(size_tok->data, NULL, 10);
	if (!size_ok(ss, size))
		return;
	if (ss->d->set.max_scripts > 0) {
		if ((c = sieved_db(ss)) == NULL)
			return;
		st = sieve_store_count(c, ss->mailbox_id, name, &count, &exists, &error);
		db_release(&c);
		if (st != SIEVE_STORE_OK) {
			reply_status(ss, "havespace", st, error);
			return;
		}
		if (!exists && count >= ss->d->set.max_scripts) {
			reply_status(ss, "havespace", SIEVE_STORE_MAXSCRIPTS, NULL);
			return;
		}
	}
	sieved_reply(ss, "OK", NULL, "Putscript would succeed");
}

/* PUTSCRIPT name content (RFC 5804 2.6). */
static void cmd_putscript(struct sieved_session *ss, const struct sieved_command *cmd)
{
	const struct sieved_token *name = &cmd->tokens[1], *content = &cmd->tokens[2];
	struct sbuf warnings = {0};
	const char *error = NULL;
	enum sieve_store_status st;
	bool active = false, created = false;
	struct db_conn *c;
	char extra[64];

	if (!name_arg(ss, name) || !string_arg(ss, content, "script") || !size_ok(ss, content->len))
		return;
	if (memchr(content->data, '\0', content->len) != NULL) {
		sieved_reply(ss, "NO", NULL, "A script cannot contain NUL characters");
		return;
	}
	if ((c = begin_change(ss, "putscript")) == NULL)
		return;
	st = sieve_store_get(c, ss->mailbox_id, name->data, NULL, NULL, &active, &error);
	if (st != SIEVE_STORE_OK && st != SIEVE_STORE_NONEXISTENT) {
		abort_change(&c);
		reply_status(ss, "putscript", st, error);
		return;
	}
	/* replacing the active script: it must run as it is, includes and all */
	if (!check_script(ss, c, name->data, content->data, content->len,
	                  active ? SIEVE_CHECK_ACTIVATE : SIEVE_CHECK_UPLOAD, &warnings)) {
		abort_change(&c);
		sbuf_free(&warnings);
		return;
	}
	st = sieve_store_put(c, ss->mailbox_id, name->data, content->data, content->len,
	                     ss->d->set.max_scripts, &created, &error);
	if (st != SIEVE_STORE_OK) {
		abort_change(&c);
		reply_status(ss, "putscript", st, error);
		sbuf_free(&warnings);
		return;
	}
	if (!active_still_valid(ss, c, name->data)) {
		abort_change(&c);
		sbuf_free(&warnings);
		return;
	}
	if (commit_change(ss, &c, "putscript")) {
		snprintf(extra, sizeof(extra), " size=%zu%s%s", content->len, created ? " new" : "",
		         active ? " active" : "");
		log_name("putscript", name, extra);
		reply_ok_warnings(ss, &warnings, "Script stored");
	}
	sbuf_free(&warnings);
}

/* CHECKSCRIPT content (RFC 5804 2.12). */
static void cmd_checkscript(struct sieved_session *ss, const struct sieved_command *cmd)
{
	const struct sieved_token *content = &cmd->tokens[1];
	struct sbuf warnings = {0};
	struct db_conn *c;

	if (!string_arg(ss, content, "script") || !size_ok(ss, content->len))
		return;
	if ((c = sieved_db(ss)) == NULL)
		return;
	if (check_script(ss, c, NULL, content->data, content->len, SIEVE_CHECK_UPLOAD, &warnings))
		reply_ok_warnings(ss, &warnings, "Script is valid");
	db_release(&c);
	sbuf_free(&warnings);
}

/* LISTSCRIPTS (RFC 5804 2.7). */
static void cmd_listscripts(struct sieved_session *ss, const struct sieved_command *cmd)
{
	struct sieve_script_info *list = NULL;
	const char *error = NULL;
	enum sieve_store_status st;
	struct sbuf b = {0};
	struct db_conn *c;
	size_t n = 0;

	(void)cmd;
	if ((c = sieved_db(ss)) == NULL)
		return;
	st = sieve_store_list(c, ss->mailbox_id, &list, &n, &error);
	db_release(&c);
	if (st != SIEVE_STORE_OK) {
		reply_status(ss, "listscripts", st, error);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		sieved_string_append(&b, list[i].name, strlen(list[i].name));
		if (list[i].active)
			sbuf_append_str(&b, " ACTIVE");
		sbuf_append(&b, "\r\n", 2);
	}
	sieved_write(ss, b.data, b.len);
	sbuf_free(&b);
	sieve_script_list_free(&list, n);
	sieved_reply(ss, "OK", NULL, "Listscripts completed");
}

/* SETACTIVE name, or SETACTIVE "" to deactivate (RFC 5804 2.8). */
static void cmd_setactive(struct sieved_session *ss, const struct sieved_command *cmd)
{
	const struct sieved_token *name = &cmd->tokens[1];
	struct sbuf warnings = {0};
	const char *error = NULL;
	enum sieve_store_status st;
	struct db_conn *c;
	char *content = NULL;
	size_t len = 0;

	if (!string_arg(ss, name, "script name"))
		return;
	if (name->len > 0 && !name_arg(ss, name))
		return;
	if ((c = begin_change(ss, "setactive")) == NULL)
		return;
	if (name->len > 0) {
		st = sieve_store_get(c, ss->mailbox_id, name->data, &content, &len, NULL, &error);
		if (st != SIEVE_STORE_OK) {
			abort_change(&c);
			reply_status(ss, "setactive", st, error);
			return;
		}
		/* what runs at delivery must compile, every include present */
		if (!check_script(ss, c, name->data, content, len, SIEVE_CHECK_ACTIVATE,
		                  &warnings)) {
			abort_change(&c);
			free(content);
			sbuf_free(&warnings);
			return;
		}
		free(content);
	}
	st = sieve_store_activate(c, ss->mailbox_id, name->data, &error);
	if (st != SIEVE_STORE_OK) {
		abort_change(&c);
		reply_status(ss, "setactive", st, error);
	} else if (commit_change(ss, &c, "setactive")) {
		log_name("setactive", name, name->len == 0 ? " (deactivated)" : "");
		reply_ok_warnings(ss, &warnings,
		                  name->len > 0 ? "Script activated" : "Scripts deactivated");
	}
	sbuf_free(&warnings);
}

/* GETSCRIPT name (RFC 5804 2.9): the content as a literal, then OK. */
static void cmd_getscript(struct sieved_session *ss, const struct sieved_command *cmd)
{
	const struct sieved_token *name = &cmd->tokens[1];
	const char *error = NULL;
	enum sieve_store_status st;
	struct db_conn *c;
	char *content = NULL, head[32];
	size_t len = 0;

	if (!name_arg(ss, name))
		return;
	if ((c = sieved_db(ss)) == NULL)
		return;
	st = sieve_store_get(c, ss->mailbox_id, name->data, &content, &len, NULL, &error);
	db_release(&c);
	if (st != SIEVE_STORE_OK) {
		reply_status(ss, "getscript", st, error);
		return;
	}
	snprintf(head, sizeof(head), "{%zu}\r\n", len);
	sieved_write(ss, head, strlen(head));
	sieved_write(ss, content, len);
	sieved_write(ss, "\r\n", 2);
	free(content);
	sieved_reply(ss, "OK", NULL, "Getscript completed");
}

/* DELETESCRIPT name (RFC 5804 2.10): never the active script. */
static void cmd_deletescript(struct sieved_session *ss, const struct sieved_command *cmd)
{
	const struct sieved_token *name = &cmd->tokens[1];
	const char *error = NULL;
	enum sieve_store_status st;
	struct db_conn *c;

	if (!name_arg(ss, name))
		return;
	if ((c = begin_change(ss, "deletescript")) == NULL)
		return;
	st = sieve_store_delete(c, ss->mailbox_id, name->data, false, &error);
	if (st != SIEVE_STORE_OK) {
		abort_change(&c);
		reply_status(ss, "deletescript", st, error);
		return;
	}
	if (!active_still_valid(ss, c, NULL)) {
		abort_change(&c);
		return;
	}
	if (commit_change(ss, &c, "deletescript")) {
		log_name("deletescript", name, "");
		sieved_reply(ss, "OK", NULL, "Script deleted");
	}
}

/* RENAMESCRIPT old new (RFC 5804 2.11.1). */
static void cmd_renamescript(struct sieved_session *ss, const struct sieved_command *cmd)
{
	const struct sieved_token *from = &cmd->tokens[1], *to = &cmd->tokens[2];
	const char *error = NULL;
	enum sieve_store_status st;
	struct db_conn *c;
	char extra[LOG_UNTRUSTED_BUFSZ + 16], n[LOG_UNTRUSTED_BUFSZ];

	if (!name_arg(ss, from) || !name_arg(ss, to))
		return;
	if ((c = begin_change(ss, "renamescript")) == NULL)
		return;
	st = sieve_store_rename(c, ss->mailbox_id, from->data, to->data, &error);
	if (st != SIEVE_STORE_OK) {
		abort_change(&c);
		reply_status(ss, "renamescript", st, error);
		return;
	}
	/* the active script renamed includes itself by its new name now: checked too */
	if (!active_still_valid(ss, c, NULL)) {
		abort_change(&c);
		return;
	}
	if (commit_change(ss, &c, "renamescript")) {
		snprintf(extra, sizeof(extra), " to=\"%s\"", log_untrusted(n, to->data, to->len));
		log_name("renamescript", from, extra);
		sieved_reply(ss, "OK", NULL, "Script renamed");
	}
}

const struct sieved_cmd sieved_commands[] = {
    {"CAPABILITY", sieved_cmd_capability, SIEVED_CMD_ANY, 0, 0},
    {"STARTTLS", sieved_cmd_starttls, SIEVED_CMD_NOAUTH, 0, 0},
    {"AUTHENTICATE", sieved_cmd_authenticate, SIEVED_CMD_NOAUTH, 1, 2},
    {"UNAUTHENTICATE", sieved_cmd_unauthenticate, SIEVED_CMD_AUTH, 0, 0},
    {"LOGOUT", sieved_cmd_logout, SIEVED_CMD_ANY, 0, 0},
    {"NOOP", sieved_cmd_noop, SIEVED_CMD_ANY, 0, 1},
    {"HAVESPACE", cmd_havespace, SIEVED_CMD_AUTH, 2, 2},
    {"PUTSCRIPT", cmd_putscript, SIEVED_CMD_AUTH, 2, 2},
    {"CHECKSCRIPT", cmd_checkscript, SIEVED_CMD_AUTH, 1, 1},
    {"LISTSCRIPTS", cmd_listscripts, SIEVED_CMD_AUTH, 0, 0},
    {"SETACTIVE", cmd_setactive, SIEVED_CMD_AUTH, 1, 1},
    {"GETSCRIPT", cmd_getscript, SIEVED_CMD_AUTH, 1, 1},
    {"DELETESCRIPT", cmd_deletescript, SIEVED_CMD_AUTH, 1, 1},
    {"RENAMESCRIPT", cmd_renamescript, SIEVED_CMD_AUTH, 2, 2},
    {NULL, NULL, 0, 0, 0},
};
