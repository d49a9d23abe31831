/*
 * imap_db.c: how sluice-imapd reads the index: one statement on a pooled
 * connection borrowed for that statement alone (so a session waiting for
 * its client holds none), failures mapped to store statuses so every
 * command answers a database outage with NO [UNAVAILABLE].
 */
#include "imap_db.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>

int imap_query(struct imapd *d, const struct db_stmt *stmt, int nparams, const char *const *params,
	       PGresult **res_r, const char **error_r)
{
	struct db_conn *conn = db_acquire(d->pool, error_r);
	enum db_status rc;

	*res_r = NULL;
	if (conn == NULL)
		return STORE_TEMPFAIL;
	rc = db_exec(conn, stmt, nparams, params, res_r, error_r);
	db_release(&conn);
	if (rc == DB_TEMPFAIL)
		return STORE_TEMPFAIL;
	if (rc != DB_OK)
		return STORE_DB_ERROR;
	return STORE_OK;
}

int64_t imap_col_i64(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

const char *imap_i64(char *buf, int64_t v)
{
	snprintf(buf, IMAP_I64_BUFSZ, "%lld", (long long)v);
	return buf;
}
