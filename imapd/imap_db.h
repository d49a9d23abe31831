/*
 * imap_db.h: running the index's read statements for sluice-imapd (every
 * change goes through lib/store.h instead).
 */
#ifndef SLUICE_IMAP_DB_H
#define SLUICE_IMAP_DB_H

#include "db.h"
#include "imapd.h"

/* Run stmt on a pooled connection: STORE_OK with *res_r, STORE_TEMPFAIL or STORE_DB_ERROR. */
int imap_query(struct imapd *d, const struct db_stmt *stmt, int nparams, const char *const *params,
	       PGresult **res_r, const char **error_r);
/* A column as an integer (0 for NULL). */
int64_t imap_col_i64(const PGresult *res, int row, int col);

#define IMAP_I64_BUFSZ 24
/* The text of an integer parameter into buf (IMAP_I64_BUFSZ bytes). */
const char *imap_i64(char *buf, int64_t v);

#endif
