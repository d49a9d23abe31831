/*
 * imap_cmd_status.c: STATUS (RFC 3501 6.3.10, RFC 9051 6.3.11) with the
 * items of CONDSTORE (HIGHESTMODSEQ, RFC 7162), STATUS=SIZE (RFC 8438),
 * APPENDLIMIT (RFC 7889), DELETED (RFC 9051) and DELETED-STORAGE (RFC
 * 9208); also the STATUS replies of LIST-STATUS (RFC 5819). One aggregate
 * statement per folder.
 */
#include "imap_commands.h"

#include "imap_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static const struct db_stmt stmt_status = {
    "imapd_status",
    "SELECT f.uidvalidity, f.uidnext, f.highestmodseq, count(m.id),"
    " count(m.id) FILTER (WHERE m.flags & 1 = 0), coalesce(sum(m.size), 0),"
    " count(m.id) FILTER (WHERE m.flags & 8 <> 0),"
    " coalesce(sum(m.size) FILTER (WHERE m.flags & 8 <> 0), 0),"
    " count(m.id) FILTER (WHERE m.uid >= f.first_recent_uid)"
    " FROM folders f LEFT JOIN messages m ON m.folder_id = f.id"
    " WHERE f.id = $1 AND f.mailbox_id = $2 GROUP BY f.id"};

enum status_item {
	ST_MESSAGES,
	ST_RECENT,
	ST_UIDNEXT,
	ST_UIDVALIDITY,
	ST_UNSEEN,
	ST_HIGHESTMODSEQ,
	ST_SIZE,
	ST_DELETED,
	ST_APPENDLIMIT,
	ST_DELETED_STORAGE,
};

static const char *const item_names[] = {
    [ST_MESSAGES] = "MESSAGES",         [ST_RECENT] = "RECENT", [ST_UIDNEXT] = "UIDNEXT",
    [ST_UIDVALIDITY] = "UIDVALIDITY",   [ST_UNSEEN] = "UNSEEN",
    [ST_HIGHESTMODSEQ] = "HIGHESTMODSEQ", [ST_SIZE] = "SIZE",  [ST_DELETED] = "DELETED",
    [ST_APPENDLIMIT] = "APPENDLIMIT",   [ST_DELETED_STORAGE] = "DELETED-STORAGE",
};

int imap_status_items_parse(const struct imap_arg *list, struct imap_status_items *items)
{
	items->n = 0;
	if (list == NULL || list->type != IMAP_ARG_LIST || list->count == 0 ||
	    list->count > ARRAY_SIZE(items->item))
		return -1;
	for (size_t i = 0; i < list->count; i++) {
		size_t k;

		if (list->list[i].type != IMAP_ARG_ATOM)
			return -1;
		for (k = 0; k < ARRAY_SIZE(item_names); k++) {
			if (strcasecmp(list->list[i].str, item_names[k]) == 0)
				break;
		}
		if (k == ARRAY_SIZE(item_names))
			return -1;
		items->item[items->n++] = (int)k;
	}
	return 0;
}

int imap_status_send(struct imap_session *sess, int64_t folder_id, const char *name,
		     const struct imap_status_items *items, const char **error_r)
{
	char b1[IMAP_I64_BUFSZ], b2[IMAP_I64_BUFSZ];
	const char *params[2] = {imap_i64(b1, folder_id), imap_i64(b2, sess->mailbox.id)};
	struct sbuf line = {0};
	PGresult *res;
	int rc;

	rc = imap_query(sess->d, &stmt_status, 2, params, &res, error_r);
	if (rc != STORE_OK)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		*error_r = "no such folder";
		return STORE_NOT_FOUND;
	}
	sbuf_append_str(&line, "STATUS ");
	imap_append_mailbox(sess, &line, name);
	sbuf_append_str(&line, " (");
	for (size_t i = 0; i < items->n; i++) {
		long long v = 0;

		switch (items->item[i]) {
		case ST_MESSAGES:
			v = imap_col_i64(res, 0, 3);
			break;
		case ST_RECENT:
			/* RFC 3501 6.3.10: not yet told to any session */
			v = imap_col_i64(res, 0, 8);
			break;
		case ST_UIDNEXT:
			v = imap_col_i64(res, 0, 1);
			break;
		case ST_UIDVALIDITY:
			v = imap_col_i64(res, 0, 0);
			break;
		case ST_UNSEEN:
			v = imap_col_i64(res, 0, 4);
			break;
		case ST_HIGHESTMODSEQ:
			v = imap_col_i64(res, 0, 2);
			break;
		case ST_SIZE:
			v = imap_col_i64(res, 0, 5);
			break;
		case ST_DELETED:
			v = imap_col_i64(res, 0, 6);
			break;
		case ST_APPENDLIMIT:
			v = sess->d->set.max_message_size;
			break;
		case ST_DELETED_STORAGE:
			/* RFC 9208 4.2: what expunging \Deleted would free, in KiB */
			v = (imap_col_i64(res, 0, 7) + 1023) / 1024;
			break;
		}
		sbuf_appendf(&line, "%s%s %lld", i > 0 ? " " : "", item_names[items->item[i]], v);
	}
	sbuf_append_str(&line, ")");
	PQclear(res);
	imap_untagged(sess, "%s", sbuf_str(&line));
	sbuf_free(&line);
	return STORE_OK;
}

void imap_cmd_status(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	char name[STORE_FOLDER_NAME_MAX + 1];
	struct imap_status_items items;
	const char *error = NULL;
	int64_t folder_id;
	int rc;

	if (nargs != 2 || imap_status_items_parse(&args[1], &items) < 0) {
		imap_tagged(sess, "BAD Syntax: STATUS mailbox (items)");
		return;
	}
	if (imap_mailbox_name(sess, &args[0], name, &error) < 0) {
		imap_tagged(sess, "NO [NONEXISTENT] %s", error);
		return;
	}
	rc = store_folder_find(sess->d->store, &sess->mailbox, name, &folder_id, &error);
	if (rc == STORE_OK)
		rc = imap_status_send(sess, folder_id, name, &items, &error);
	if (rc != STORE_OK)
		imap_tagged_store_error(sess, rc, error);
}
