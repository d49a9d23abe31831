/*
 * recipient_probe.c: a test driver for lib/recipient.c, steered line by
 * line by tests/integration/test_recipient.py against a real PostgreSQL.
 *
 * Usage: recipient_probe CONNINFO DELIMITERS MAX_DEPTH MAX_DESTINATIONS
 * Commands on stdin (fields separated by tabs), one answer block each,
 * ended by a line "end":
 *   resolve ADDRESS [nocatchall]  ->  "flags ours=0|1 loop=0|1 truncated=0|1"
 *                                     and one line per destination:
 *                                     "KIND ADDRESS mailbox_id=N ext=EXT catchall=0|1
 *                                      quota=B/M used=B/M"
 *   mailbox ADDRESS               ->  "none", or a destination line as above
 *   sendas LOGIN SENDER           ->  "allowed" or "refused"
 * A database failure answers "tempfail <error>" or "error <error>".
 * Trusted input (the test); not for production use.
 */
#include "addr.h"
#include "db.h"
#include "recipient.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_dest(const struct recipient_dest *d)
{
	printf("%s %s mailbox_id=%lld ext=%s catchall=%d quota=%lld/%lld used=%lld/%lld dir=%s\n",
	       recipient_kind_name(d->kind), d->address, (long long)d->mailbox_id, d->extension,
	       d->via_catchall ? 1 : 0, (long long)d->quota_bytes, (long long)d->quota_messages,
	       (long long)d->used_bytes, (long long)d->used_messages,
	       d->storage_dir != NULL ? d->storage_dir : "-");
}

static void print_status(enum db_status st, const char *error)
{
	printf("%s %s\n", st == DB_TEMPFAIL ? "tempfail" : "error", error);
}

static int parse(const char *text, unsigned flags, struct mail_address *addr)
{
	const char *error;

	if (addr_parse_mailbox(text, strlen(text), ADDR_SMTPUTF8 | flags, addr, &error) < 0) {
		printf("error bad address: %s\n", error);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct db_pool_settings ps = {0};
	struct recipient_settings rs = {0};
	struct db_pool *pool;
	char line[4096];

	if (argc != 5) {
		fprintf(stderr, "usage: recipient_probe CONNINFO DELIMITERS MAX_DEPTH MAX_DEST\n");
		return 64;
	}
	ps.conninfo = argv[1];
	ps.size = 1;
	ps.connect_timeout_ms = ps.query_timeout_ms = ps.wait_timeout_ms = 5000;
	ps.application_name = "recipient_probe";
	rs.delimiters = argv[2];
	rs.max_depth = (unsigned int)atoi(argv[3]);
	rs.max_destinations = (unsigned int)atoi(argv[4]);
	pool = db_pool_create(&ps);

	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *f[3] = {NULL, NULL, NULL}, *save = NULL;
		struct mail_address addr, sender;
		const char *error = "";
		struct db_conn *conn;
		enum db_status st;
		int n = 0;

		line[strcspn(line, "\n")] = '\0';
		for (char *t = strtok_r(line, "\t", &save); t != NULL && n < 3;
		     t = strtok_r(NULL, "\t", &save))
			f[n++] = t;
		conn = db_acquire(pool, &error);
		if (conn == NULL) {
			printf("tempfail %s\nend\n", error);
			fflush(stdout);
			continue;
		}
		if (n >= 2 && strcmp(f[0], "resolve") == 0) {
			struct recipient_result rr;
			unsigned flags =
			    n == 3 && strcmp(f[2], "nocatchall") == 0 ? RECIPIENT_NO_CATCHALL : 0;

			if (parse(f[1], 0, &addr) < 0)
				goto done;
			st = recipient_resolve(conn, &rs, &addr, flags, &rr, &error);
			if (st != DB_OK) {
				print_status(st, error);
			} else {
				printf("flags ours=%d loop=%d truncated=%d\n", rr.ours, rr.loop,
				       rr.truncated);
				for (size_t i = 0; i < rr.count; i++)
					print_dest(&rr.dests[i]);
				recipient_result_free(&rr);
			}
		} else if (n == 2 && strcmp(f[0], "mailbox") == 0) {
			struct recipient_dest d;
			bool found;

			if (parse(f[1], 0, &addr) < 0)
				goto done;
			st = recipient_mailbox_lookup(conn, &rs, &addr, &found, &d, &error);
			if (st != DB_OK)
				print_status(st, error);
			else if (!found)
				printf("none\n");
			else
				print_dest(&d);
			recipient_dest_free(&d);
		} else if (n == 3 && strcmp(f[0], "sendas") == 0) {
			bool allowed;

			if (strcmp(f[2], "<>") == 0)
				memset(&sender, 0, sizeof(sender));
			else if (parse(f[2], 0, &sender) < 0)
				goto done;
			st = recipient_may_send_as(conn, &rs, f[1], &sender, &allowed, &error);
			if (st != DB_OK)
				print_status(st, error);
			else
				printf("%s\n", allowed ? "allowed" : "refused");
		} else {
			printf("error unknown command\n");
		}
	done:
		db_release(&conn);
		printf("end\n");
		fflush(stdout);
	}
	db_pool_destroy(&pool);
	return 0;
}
