/*
 * imap_cmd_select.c: entering and leaving the selected state: SELECT and
 * EXAMINE (RFC 3501 6.3.1-2, RFC 9051 6.3.2-3) with the CONDSTORE and
 * QRESYNC parameters (RFC 7162 3.1.8, 3.2.5), CLOSE (6.4.2), UNSELECT
 * (RFC 3691) and CHECK (RFC 3501 6.4.1). The mailbox itself is loaded by
 * imap_view.c; this file says what the client is told.
 */
#include "imap_commands.h"

#include "imap_qresync.h"
#include "imap_view.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

/* The responses SELECT and EXAMINE send about the mailbox. */
static void send_select_responses(struct imap_session *sess)
{
	struct imap_view *v = sess->view;
	bool rev2 = (sess->enabled & IMAP_ENABLED_REV2) != 0;

	imap_view_send_flags(sess);
	imap_untagged(sess, "%zu EXISTS", v->count);
	if (!rev2) {
		/* RFC 3501 6.3.1 (RFC 9051 removed \Recent) */
		imap_untagged(sess, "%zu RECENT", v->nrecent);
		if (v->first_unseen > 0)
			imap_untagged(sess, "OK [UNSEEN %zu] First unseen", v->first_unseen);
	}
	imap_untagged(sess, "OK [UIDVALIDITY %u] UIDs valid", v->uidvalidity);
	imap_untagged(sess, "OK [UIDNEXT %u] Predicted next UID", v->uidnext);
	imap_untagged(sess, "OK [HIGHESTMODSEQ %lld] Highest", (long long)v->highestmodseq);
	if (rev2) {
		struct sbuf line = {0};

		/* RFC 9051 6.3.2: the mailbox's name as the server spells it */
		sbuf_append_str(&line, "LIST () \"/\" ");
		imap_append_mailbox(sess, &line, v->name);
		imap_untagged(sess, "%s", sbuf_str(&line));
		sbuf_free(&line);
	}
}

static void select_or_examine(struct imap_session *sess, const struct imap_arg *args, size_t nargs,
			      bool readonly)
{
	char name[STORE_FOLDER_NAME_MAX + 1];
	struct imap_qresync_param q = {0};
	const char *error = NULL;
	int64_t folder_id;
	bool was_selected = sess->view != NULL, qresync = false;
	int rc;

	if (nargs < 1 || nargs > 2 || (nargs == 2 && args[1].type != IMAP_ARG_LIST)) {
		imap_tagged(sess, "BAD Syntax: SELECT mailbox [(parameters)]");
		return;
	}
	if (nargs == 2) {
		const struct imap_arg *p = args[1].list;

		for (size_t i = 0; i < args[1].count; i++) {
			if (imap_arg_is_atom(&p[i], "CONDSTORE")) {
				/* RFC 7162 3.1.8: SELECT (CONDSTORE) enables CONDSTORE */
				sess->enabled |= IMAP_ENABLED_CONDSTORE;
			} else if (imap_arg_is_atom(&p[i], "QRESYNC") && i + 1 < args[1].count &&
				   !qresync) {
				/* RFC 7162 3.2.5: only after ENABLE QRESYNC */
				if (!(sess->enabled & IMAP_ENABLED_QRESYNC) ||
				    imap_qresync_parse(&p[++i], &q) < 0) {
					imap_tagged(sess, "BAD Invalid QRESYNC parameter");
					imap_seqset_clear(&q.known);
					return;
				}
				qresync = true;
			} else {
				imap_tagged(sess, "BAD Unknown SELECT parameter");
				imap_seqset_clear(&q.known);
				return;
			}
		}
	}
	/* RFC 3501 6.3.1: a failed SELECT leaves no mailbox selected */
	imap_view_close(sess);
	if (was_selected && (sess->enabled & (IMAP_ENABLED_QRESYNC | IMAP_ENABLED_REV2)))
		imap_untagged(sess, "OK [CLOSED] Previous mailbox closed");
	if (imap_mailbox_name(sess, &args[0], name, &error) < 0) {
		imap_tagged(sess, "NO [NONEXISTENT] %s", error);
		imap_seqset_clear(&q.known);
		return;
	}
	rc = store_folder_find(sess->d->store, &sess->mailbox, name, &folder_id, &error);
	if (rc == STORE_OK)
		rc = imap_view_open(sess, folder_id, name, readonly, &error);
	if (rc == STORE_OK) {
		send_select_responses(sess);
		if (qresync)
			rc = imap_qresync_select(sess, &q, &error);
	}
	imap_seqset_clear(&q.known);
	if (rc != STORE_OK) {
		imap_view_close(sess);
		imap_tagged_store_error(sess, rc, error);
		return;
	}
	imap_tagged(sess, "OK [%s] %s completed", readonly ? "READ-ONLY" : "READ-WRITE",
		    readonly ? "EXAMINE" : "SELECT");
}

void imap_cmd_select(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	select_or_examine(sess, args, nargs, false);
}

void imap_cmd_examine(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	select_or_examine(sess, args, nargs, true);
}

void imap_cmd_close(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	(void)args;
	if (nargs != 0) {
		imap_tagged(sess, "BAD CLOSE takes no arguments");
		return;
	}
	/* RFC 3501 6.4.2: expunge silently, unless the mailbox is read-only */
	if (!sess->view->readonly && imap_expunge_deleted(sess, NULL, false) < 0)
		return;
	imap_view_close(sess);
}

void imap_cmd_unselect(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	(void)args;
	if (nargs != 0) {
		imap_tagged(sess, "BAD UNSELECT takes no arguments");
		return;
	}
	imap_view_close(sess);
}

void imap_cmd_check(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	(void)args;
	/* RFC 3501 6.4.1: every change is durable at once here; like NOOP */
	if (nargs != 0)
		imap_tagged(sess, "BAD CHECK takes no arguments");
}
