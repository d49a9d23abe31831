/*
 * qmgr_resolve.c: alias expansion for the mail sluice-qmgr queues itself
 * (maildrop pickups, DSNs to senders and to the postmaster), with the same
 * rules sluice-smtpd applies at RCPT time: lib/recipient.c, one statement
 * per address. Queue files hold final recipients, so expansion happens once,
 * here or in smtpd, never again at delivery. Touches the database only.
 */
#include "qmgr.h"
#include "addr.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Alias chains longer than this are loops or mistakes (the walk reports them). */
#define QMGR_RESOLVE_MAX_DEPTH 16

static void add(struct qmgr_dest_list *out, const char *address, bool local)
{
	for (size_t i = 0; i < out->count; i++) {
		if (strcasecmp(out->items[i].address, address) == 0)
			return;
	}
	out->items = xrealloc(out->items, (out->count + 1) * sizeof(*out->items));
	snprintf(out->items[out->count].address, sizeof(out->items[0].address), "%s", address);
	out->items[out->count].local = local;
	out->count++;
}

int qmgr_resolve(struct qmgr *q, const struct qmgr_settings *set, const char *address,
                 unsigned int max_dests, struct qmgr_dest_list *out, const char **error_r)
{
	struct recipient_settings rset = {
	    .delimiters = set->delimiters,
	    .max_depth = QMGR_RESOLVE_MAX_DEPTH,
	    .max_destinations = max_dests > 0 ? max_dests : 1,
	};
	struct recipient_result res = {0};
	struct mail_address addr;
	struct db_conn *conn;
	const char *error;
	enum db_status st;

	out->items = NULL;
	out->count = 0;
	if (addr_parse_mailbox(address, strlen(address), ADDR_SMTPUTF8 | ADDR_ALLOW_LITERAL, &addr,
	                       &error) < 0 ||
	    addr.domain[0] == '\0') {
		/* Not an address we could look up: it can only go somewhere else. */
		add(out, address, false);
		return 0;
	}
	conn = db_acquire(q->pool, error_r);
	if (conn == NULL)
		return -1;
	st = recipient_resolve(conn, &rset, &addr, 0, &res, error_r);
	db_release(&conn);
	if (st != DB_OK)
		return -1;
	if (res.loop) {
		char esc[LOG_UNTRUSTED_BUFSZ];
		log_warn("alias loop or too deep a chain under <%s>",
		         log_untrusted(esc, address, strlen(address)));
	}
	for (size_t i = 0; i < res.count; i++) {
		const struct recipient_dest *d = &res.dests[i];

		switch (d->kind) {
		case RECIPIENT_MAILBOX:
			add(out, d->address, true);
			break;
		case RECIPIENT_RELAY:
		case RECIPIENT_REMOTE:
			add(out, d->address, false);
			break;
		case RECIPIENT_DISABLED:
		case RECIPIENT_UNKNOWN:
			/* sluice-lmtpd refuses it with its reason; the report carries it. */
			add(out, d->address, true);
			break;
		}
	}
	if (out->count == 0) {
		char buf[ADDR_BUFSZ];
		addr_format(&addr, buf);
		add(out, buf, res.ours);
	}
	recipient_result_free(&res);
	return 0;
}

void qmgr_dest_list_free(struct qmgr_dest_list *list)
{
	free(list->items);
	list->items = NULL;
	list->count = 0;
}
