/*
 * vacation.h: the out-of-office settings an administrator gives a mailbox
 * (table vacations, schema/0003_vacation.sql; `sluice-admin vacation`), and
 * the Sieve script the delivery agent runs for them.
 *
 * The script is a Sieve "vacation" action (RFC 5230) inside a "currentdate"
 * test (RFC 5260 5) on the start and end times, so a vacation starts and
 * ends by itself; the interpreter applies RFC 3834 and RFC 5230 4.5/4.6 (no
 * reply to the null sender, lists, bulk or auto-submitted mail, nor twice to
 * one sender within :days). Its :handle changes with every `vacation set`,
 * so a new text is sent again to senders who had the old one.
 *
 * The delivery agent calls vacation_script_for() per recipient, compiles the
 * text with sieve_compile() and runs it with sieve_run() beside the user's
 * own script (see docs/DESIGN.md).
 */
#ifndef SLUICE_VACATION_H
#define SLUICE_VACATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "util.h"

struct vacation {
	int64_t mailbox_id;
	bool active;
	char *subject;     /* one line, UTF-8 */
	char *body;        /* UTF-8 text */
	int64_t starts;    /* Unix time the replies start; 0: at once */
	int64_t ends;      /* Unix time they stop (exclusive); 0: never */
	unsigned int days; /* between two replies to one sender; 0: the configured default */
	char **addresses;  /* further addresses of the mailbox (:addresses) */
	size_t naddresses;
	int64_t modified; /* Unix time of the last change: part of the handle */
};

/*
 * Append the Sieve script for v to out (whether v is active is not looked
 * at). -1 with *error_r when v cannot be written (subject with a line end,
 * text that is not UTF-8).
 */
int vacation_script(const struct vacation *v, struct sbuf *out, const char **error_r);

/* Load a mailbox's row; *found_r false when it has none. Free with vacation_free(). */
enum db_status vacation_load(struct db_conn *conn, int64_t mailbox_id, struct vacation *v,
                             bool *found_r, const char **error_r);
void vacation_free(struct vacation *v);

/*
 * For the delivery agent: the script of a mailbox's vacation into script
 * (appended), with *found_r true; false (nothing appended) when it has none,
 * it is off, or it has already ended at `now` (Unix time; 0: the clock).
 * DB_TEMPFAIL or DB_ERROR when the row could not be read.
 */
enum db_status vacation_script_for(struct db_conn *conn, int64_t mailbox_id, int64_t now,
                                   struct sbuf *script, bool *found_r, const char **error_r);

#endif
