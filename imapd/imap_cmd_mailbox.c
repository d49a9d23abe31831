/*
 * imap_cmd_mailbox.c: managing folders: CREATE (RFC 3501 6.3.3, with USE
 * of CREATE-SPECIAL-USE, RFC 6154 3), DELETE (6.3.4), RENAME (6.3.5,
 * with its INBOX special case), SUBSCRIBE and UNSUBSCRIBE (6.3.6-7).
 * Every change goes through the store (lib/store.h); names pass
 * imap_mailbox_name() first (no empty, "." or ".." levels).
 */
#include "imap_commands.h"

#include "imap_db.h"
#include "imap_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RFC 6154 2: the attributes a folder may be made with (\All and \Flagged are virtual). */
static const char *const special_uses[] = {"\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash"};

/* Make the missing parent levels of name (RFC 3501 6.3.3: SHOULD). */
static int make_parents(struct imap_session *sess, const char *name, const char **error_r)
{
	char buf[STORE_FOLDER_NAME_MAX + 1];
	int64_t id;

	for (const char *slash = strchr(name, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		int rc;

		memcpy(buf, name, (size_t)(slash - name));
		buf[slash - name] = '\0';
		rc = store_folder_create(sess->d->store, &sess->mailbox, buf, NULL, &id, error_r);
		if (rc != STORE_OK && rc != STORE_EXISTS)
			return rc;
	}
	return STORE_OK;
}

void imap_cmd_create(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	char name[STORE_FOLDER_NAME_MAX + 1];
	const char *special = NULL, *error = NULL;
	struct imap_arg trimmed;
	int64_t id;
	int rc;

	if (nargs < 1 || nargs > 2 || imap_arg_astring(&args[0]) == NULL) {
		imap_tagged(sess, "BAD Syntax: CREATE mailbox [(USE (attributes))]");
		return;
	}
	if (nargs == 2) {
		const struct imap_arg *o = &args[1];

		/* RFC 6154 3: CREATE name (USE (\Sent)) */
		if (o->type != IMAP_ARG_LIST || o->count != 2 || !imap_arg_is_atom(&o->list[0], "USE") ||
		    o->list[1].type != IMAP_ARG_LIST) {
			imap_tagged(sess, "BAD Syntax: CREATE mailbox [(USE (attributes))]");
			return;
		}
		for (size_t i = 0; i < o->list[1].count; i++) {
			const struct imap_arg *a = &o->list[1].list[i];
			size_t k;

			for (k = 0; k < ARRAY_SIZE(special_uses); k++) {
				if (imap_arg_is_atom(a, special_uses[k]))
					break;
			}
			if (k == ARRAY_SIZE(special_uses) || special != NULL) {
				imap_tagged(sess, "NO [USEATTR] Unsupported special-use attribute");
				return;
			}
			special = special_uses[k];
		}
	}
	/* RFC 3501 6.3.3: a trailing separator only says more names will go below */
	trimmed = args[0];
	if (trimmed.len > 1 && trimmed.str[trimmed.len - 1] == '/') {
		trimmed.str = xstrndup(args[0].str, args[0].len - 1);
		trimmed.len--;
	} else {
		trimmed.str = xstrdup(args[0].str);
	}
	rc = imap_mailbox_name(sess, &trimmed, name, &error);
	free(trimmed.str);
	if (rc < 0) {
		imap_tagged(sess, "NO [CANNOT] %s", error);
		return;
	}
	if (strcmp(name, "INBOX") == 0) {
		imap_tagged(sess, "NO [ALREADYEXISTS] INBOX always exists");
		return;
	}
	rc = make_parents(sess, name, &error);
	if (rc == STORE_OK)
		rc = store_folder_create(sess->d->store, &sess->mailbox, name, special, &id, &error);
	if (rc != STORE_OK)
		imap_tagged_store_error(sess, rc, error);
}

/* A folder named by args[0]; -1 with the reply set. */
static int find_folder(struct imap_session *sess, const struct imap_arg *arg, char *name,
		       int64_t *id_r)
{
	const char *error = NULL;
	int rc;

	if (imap_mailbox_name(sess, arg, name, &error) < 0) {
		imap_tagged(sess, "NO [NONEXISTENT] %s", error);
		return -1;
	}
	rc = store_folder_find(sess->d->store, &sess->mailbox, name, id_r, &error);
	if (rc != STORE_OK) {
		imap_tagged_store_error(sess, rc, error);
		return -1;
	}
	return 0;
}

void imap_cmd_delete(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	char name[STORE_FOLDER_NAME_MAX + 1];
	const char *error = NULL;
	int64_t id;
	int rc;

	if (nargs != 1) {
		imap_tagged(sess, "BAD Syntax: DELETE mailbox");
		return;
	}
	if (find_folder(sess, &args[0], name, &id) < 0)
		return;
	if (strcmp(name, "INBOX") == 0) {
		imap_tagged(sess, "NO [CANNOT] The INBOX cannot be deleted");
		return;
	}
	rc = store_folder_delete(sess->d->store, &sess->mailbox, id, &error);
	if (rc != STORE_OK)
		imap_tagged_store_error(sess, rc, error);
}

static const struct db_stmt stmt_all_uids = {
    "imapd_folder_uids", "SELECT uid FROM messages WHERE folder_id = $1 ORDER BY uid"};

/* RFC 3501 6.3.5: renaming INBOX moves its messages to a new folder; INBOX stays. */
static void rename_inbox(struct imap_session *sess, int64_t inbox, const char *to)
{
	char b1[IMAP_I64_BUFSZ];
	const char *params[1] = {imap_i64(b1, inbox)}, *error = NULL;
	struct store_uid_pair *pairs = NULL;
	int64_t *uids = NULL, dst;
	size_t npairs = 0;
	PGresult *res = NULL;
	int rc;

	rc = make_parents(sess, to, &error);
	if (rc == STORE_OK)
		rc = store_folder_create(sess->d->store, &sess->mailbox, to, NULL, &dst, &error);
	if (rc == STORE_OK)
		rc = imap_query(sess->d, &stmt_all_uids, 1, params, &res, &error);
	if (rc == STORE_OK && PQntuples(res) > 0) {
		uids = xmalloc((size_t)PQntuples(res) * sizeof(*uids));
		for (int r = 0; r < PQntuples(res); r++)
			uids[r] = imap_col_i64(res, r, 0);
		rc = store_move(sess->d->store, &sess->mailbox, inbox, uids, (size_t)PQntuples(res), dst,
				&pairs, &npairs, &error);
	}
	PQclear(res);
	free(uids);
	free(pairs);
	if (rc != STORE_OK)
		imap_tagged_store_error(sess, rc, error);
}

void imap_cmd_rename(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	char from[STORE_FOLDER_NAME_MAX + 1], to[STORE_FOLDER_NAME_MAX + 1];
	const char *error = NULL;
	size_t flen;
	int64_t id;
	int rc;

	if (nargs != 2) {
		imap_tagged(sess, "BAD Syntax: RENAME mailbox new-name");
		return;
	}
	if (find_folder(sess, &args[0], from, &id) < 0)
		return;
	if (imap_mailbox_name(sess, &args[1], to, &error) < 0) {
		imap_tagged(sess, "NO [CANNOT] %s", error);
		return;
	}
	if (strcmp(from, "INBOX") == 0) {
		rename_inbox(sess, id, to);
		return;
	}
	flen = strlen(from);
	if (strncmp(to, from, flen) == 0 && (to[flen] == '\0' || to[flen] == '/')) {
		imap_tagged(sess, "NO [CANNOT] A mailbox cannot be renamed into itself");
		return;
	}
	rc = make_parents(sess, to, &error);
	if (rc == STORE_OK)
		rc = store_folder_rename(sess->d->store, &sess->mailbox, id, to, &error);
	if (rc != STORE_OK) {
		imap_tagged_store_error(sess, rc, error);
		return;
	}
	/* the selected folder, or one below it, keeps its id under a new name */
	if (sess->view != NULL && sess->view->folder_id == id)
		snprintf(sess->view->name, sizeof(sess->view->name), "%s", to);
}

/*
 * RFC 3501 6.3.6-7: a name is subscribed whether its folder exists or not
 * (RFC 9051 6.3.7 lets a server refuse that; we keep the name, as the
 * client may make the folder later or on another device).
 */
static void subscribe(struct imap_session *sess, const struct imap_arg *args, size_t nargs,
		      bool on)
{
	char name[STORE_FOLDER_NAME_MAX + 1];
	const char *error = NULL;
	int rc;

	if (nargs != 1) {
		imap_tagged(sess, "BAD Syntax: %sSUBSCRIBE mailbox", on ? "" : "UN");
		return;
	}
	if (imap_mailbox_name(sess, &args[0], name, &error) < 0) {
		imap_tagged(sess, "NO [CANNOT] %s", error);
		return;
	}
	rc = store_subscription_set(sess->d->store, &sess->mailbox, name, on, &error);
	if (rc != STORE_OK)
		imap_tagged_store_error(sess, rc, error);
}

void imap_cmd_subscribe(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	subscribe(sess, args, nargs, true);
}

void imap_cmd_unsubscribe(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	subscribe(sess, args, nargs, false);
}
