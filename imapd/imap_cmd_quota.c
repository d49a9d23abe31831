/*
 * imap_cmd_quota.c: QUOTA (RFC 9208): one quota root, "", per mailbox,
 * with the STORAGE (KiB) and MESSAGE resources from the database
 * (mailboxes' limits, quota_usage). GETQUOTAROOT and GETQUOTA read them;
 * SETQUOTA is refused: limits are the administrator's (sluice-admin).
 * Resources without a limit are not listed (RFC 9208 5.1).
 */
#include "imap_commands.h"

#include <stdio.h>
#include <string.h>

/* "* QUOTA "" (...)" from a fresh look at the mailbox's usage. */
static int send_quota(struct imap_session *sess, const char **error_r)
{
	struct store_mailbox mb;
	struct sbuf line = {0};
	int rc;

	rc = store_mailbox_by_id(sess->d->store, sess->mailbox.id, &mb, error_r);
	if (rc != STORE_OK)
		return rc;
	sbuf_append_str(&line, "QUOTA \"\" (");
	if (mb.quota_bytes > 0)
		/* RFC 9208 5.1: STORAGE in units of 1024 octets */
		sbuf_appendf(&line, "STORAGE %lld %lld", (long long)((mb.used_bytes + 1023) / 1024),
			     (long long)(mb.quota_bytes / 1024));
	if (mb.quota_messages > 0)
		sbuf_appendf(&line, "%sMESSAGE %lld %lld", mb.quota_bytes > 0 ? " " : "",
			     (long long)mb.used_messages, (long long)mb.quota_messages);
	sbuf_append_str(&line, ")");
	imap_untagged(sess, "%s", sbuf_str(&line));
	sbuf_free(&line);
	return STORE_OK;
}

void imap_cmd_getquotaroot(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	char name[STORE_FOLDER_NAME_MAX + 1];
	const char *error = NULL;
	struct sbuf line = {0};
	int64_t id;
	int rc;

	if (nargs != 1) {
		imap_tagged(sess, "BAD Syntax: GETQUOTAROOT mailbox");
		return;
	}
	if (imap_mailbox_name(sess, &args[0], name, &error) < 0) {
		imap_tagged(sess, "NO [NONEXISTENT] %s", error);
		return;
	}
	rc = store_folder_find(sess->d->store, &sess->mailbox, name, &id, &error);
	if (rc != STORE_OK) {
		imap_tagged_store_error(sess, rc, error);
		return;
	}
	sbuf_append_str(&line, "QUOTAROOT ");
	imap_append_mailbox(sess, &line, name);
	sbuf_append_str(&line, " \"\"");
	imap_untagged(sess, "%s", sbuf_str(&line));
	sbuf_free(&line);
	if ((rc = send_quota(sess, &error)) != STORE_OK)
		imap_tagged_store_error(sess, rc, error);
}

void imap_cmd_getquota(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	const char *root, *error = NULL;
	int rc;

	if (nargs != 1 || (root = imap_arg_astring(&args[0])) == NULL) {
		imap_tagged(sess, "BAD Syntax: GETQUOTA root");
		return;
	}
	if (*root != '\0') {
		imap_tagged(sess, "NO [NONEXISTENT] No such quota root");
		return;
	}
	if ((rc = send_quota(sess, &error)) != STORE_OK)
		imap_tagged_store_error(sess, rc, error);
}

void imap_cmd_setquota(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	(void)args;
	(void)nargs;
	imap_tagged(sess, "NO [NOPERM] Quotas are set by the administrator");
}
