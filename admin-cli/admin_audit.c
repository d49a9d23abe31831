/*
 * admin_audit.c: the audit log of sluice-admin. Every change writes one
 * audit_log row in the same transaction as the change itself, so the log
 * holds exactly the changes that happened. The actor is the Unix user who
 * ran the command (and the sudo caller, when there is one, in the details).
 * Details are a JSON object the command builds; passwords and hashes never
 * go into it. admin_change() ends every change the same way: the audit row,
 * the commit, then the result line (or its JSON) on stdout.
 */
#include "admin.h"
#include "admin_output.h"
#include "admin_sql.h"
#include "util.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

const char *admin_actor(struct admin_ctx *ctx)
{
	struct passwd *pw;

	if (ctx->actor != NULL)
		return ctx->actor;
	pw = getpwuid(getuid());
	if (pw != NULL && pw->pw_name != NULL && pw->pw_name[0] != '\0')
		ctx->actor = xstrdup(pw->pw_name);
	else
		ctx->actor = xasprintf("uid %lu", (unsigned long)getuid());
	return ctx->actor;
}

static const struct db_stmt stmt_audit = {
    "admin_audit", "INSERT INTO audit_log (actor, action, object, details)"
                   " VALUES ($1, $2, $3, $4::jsonb || CASE WHEN $5::text IS NULL THEN '{}'::jsonb"
                   " ELSE jsonb_build_object('sudo_user', $5::text) END)"};

int admin_audit(struct admin_ctx *ctx, const char *action, const char *object,
                const char *details_json)
{
	const char *sudo_user = getenv("SUDO_USER");
	const char *params[5];

	if (sudo_user != NULL && sudo_user[0] == '\0')
		sudo_user = NULL;
	params[0] = admin_actor(ctx);
	params[1] = action;
	params[2] = object;
	params[3] = details_json != NULL ? details_json : "{}";
	params[4] = getuid() == 0 ? sudo_user : NULL;
	return admin_exec(ctx, &stmt_audit, 5, params, NULL);
}

int admin_change(struct admin_ctx *ctx, const char *action, const char *object,
                 const char *details_json, const char *fmt, ...)
{
	va_list ap;
	char *message;
	int rc;

	if ((rc = admin_audit(ctx, action, object, details_json)) != 0 ||
	    (rc = admin_commit(ctx)) != 0)
		return rc;
	va_start(ap, fmt);
	message = admin_vasprintf(fmt, ap);
	va_end(ap);
	out_change(ctx->json, message, action, object, details_json);
	free(message);
	return 0;
}
