/*
 * imap_commands.h: the command handlers of sluice-imapd, one file per
 * command or family (imap_cmd_*.c), called by the command table in
 * imap_session.c once the state checks passed. A handler gets the
 * arguments after the command name (after "UID <name>" for UID commands,
 * with sess->uid set), writes untagged responses, and leaves its tagged
 * reply with imap_tagged(); the session sends mailbox updates in between.
 */
#ifndef SLUICE_IMAP_COMMANDS_H
#define SLUICE_IMAP_COMMANDS_H

#include "imapd.h"

typedef void imap_cmd_fn(struct imap_session *sess, const struct imap_arg *args, size_t nargs);

/* imap_cmd_any.c: any state */
imap_cmd_fn imap_cmd_capability, imap_cmd_noop, imap_cmd_logout, imap_cmd_id;
/* imap_cmd_auth.c: not authenticated */
imap_cmd_fn imap_cmd_starttls, imap_cmd_login, imap_cmd_authenticate;
/* imap_cmd_any.c: authenticated */
imap_cmd_fn imap_cmd_enable, imap_cmd_namespace, imap_cmd_compress;
/* imap_cmd_select.c */
imap_cmd_fn imap_cmd_select, imap_cmd_examine, imap_cmd_close, imap_cmd_unselect, imap_cmd_check;
/* imap_cmd_list.c */
imap_cmd_fn imap_cmd_list, imap_cmd_lsub;
/* imap_cmd_mailbox.c */
imap_cmd_fn imap_cmd_create, imap_cmd_delete, imap_cmd_rename, imap_cmd_subscribe,
    imap_cmd_unsubscribe;
/* imap_cmd_status.c */
imap_cmd_fn imap_cmd_status;
/* imap_cmd_expunge.c */
imap_cmd_fn imap_cmd_expunge;
/* imap_cmd_fetch.c */
imap_cmd_fn imap_cmd_fetch;
/* imap_cmd_store.c */
imap_cmd_fn imap_cmd_store;
/* imap_cmd_copy.c */
imap_cmd_fn imap_cmd_copy, imap_cmd_move;
/* imap_cmd_append.c */
imap_cmd_fn imap_cmd_append;
/* imap_cmd_search.c */
imap_cmd_fn imap_cmd_search;
/* imap_sort.c, imap_thread.c */
imap_cmd_fn imap_cmd_sort, imap_cmd_thread;
/*
 * The "charset search-keys" of SORT and THREAD, run over the selected
 * folder with the ENVELOPE column; -1 with the tagged reply set.
 */
struct imap_search_result;
int imap_sort_search(struct imap_session *sess, const struct imap_arg *args, size_t nargs,
		     struct imap_search_result *r);
/* imap_cmd_idle.c */
imap_cmd_fn imap_cmd_idle;
/* imap_cmd_quota.c */
imap_cmd_fn imap_cmd_getquota, imap_cmd_getquotaroot, imap_cmd_setquota;

/* Flags and keywords from a flag list (STORE, APPEND), imap_cmd_store.c. */
struct imap_flag_list {
	unsigned int flags; /* enum store_flag */
	char **keywords;
	size_t nkeywords;
};
/* "(\Seen kw)" or flags as separate arguments; -1 for \Recent, unknown \flags, bad keywords. */
int imap_flag_list_parse(const struct imap_arg *args, size_t nargs, struct imap_flag_list *fl);
void imap_flag_list_free(struct imap_flag_list *fl);

/* STATUS items in the order asked (imap_cmd_status.c). */
struct imap_status_items {
	int item[16];
	size_t n;
};
/* Parse "(MESSAGES UIDNEXT ...)"; -1 on an unknown item or bad syntax. */
int imap_status_items_parse(const struct imap_arg *list, struct imap_status_items *items);
/* Send "* STATUS name (...)" for a folder of the session's mailbox; a store status. */
int imap_status_send(struct imap_session *sess, int64_t folder_id, const char *name,
		     const struct imap_status_items *items, const char **error_r);

/*
 * Expunge the \Deleted messages of the selected folder that the client
 * knows (within `only`, a UID set, unless NULL), telling it when
 * `announce`. -1 with the tagged NO set on failure.
 */
int imap_expunge_deleted(struct imap_session *sess, const struct imap_seqset *only, bool announce);

#endif
