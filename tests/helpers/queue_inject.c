/*
 * queue_inject.c: queue a message through the queue writer (mta/queue_file.c)
 * exactly as sluice-smtpd does, for the sluice-qmgr tests.
 *
 *   queue_inject QUEUE_DIR SENDER [--ret full|hdrs] [--envid ID] [--origin O]
 *                [--body 8bitmime|binarymime] [--smtputf8] [--arrival UNIX_S]
 *                RCPT... < content
 *   RCPT: [R:]address[,notify=never|success+failure+delay][,orcpt=TYPE;ADDR][,given=ADDR]
 *         (R: a remote recipient; local otherwise)
 * The content is copied as is. Prints the queue id; exit 0 only once the
 * writer's commit succeeded.
 */
#include "queue_file.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned int parse_notify(const char *s)
{
	unsigned int n = 0;

	if (strstr(s, "never") != NULL)
		n |= QUEUE_NOTIFY_NEVER;
	if (strstr(s, "success") != NULL)
		n |= QUEUE_NOTIFY_SUCCESS;
	if (strstr(s, "failure") != NULL)
		n |= QUEUE_NOTIFY_FAILURE;
	if (strstr(s, "delay") != NULL)
		n |= QUEUE_NOTIFY_DELAY;
	return n;
}

int main(int argc, char **argv)
{
	struct queue_envelope env = {.client_ip = "127.0.0.1", .origin = "smtpd"};
	struct queue_writer *w;
	const char *error = NULL;
	char buf[65536];
	ssize_t n;
	int i;

	if (argc < 4) {
		fprintf(stderr,
		        "usage: queue_inject QUEUE_DIR SENDER [options] RCPT... < content\n");
		return 64;
	}
	env.sender = argv[2];
	for (i = 3; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--smtputf8") == 0) {
			env.smtputf8 = 1;
			continue;
		}
		if (i + 1 >= argc)
			return 64;
		if (strcmp(argv[i], "--ret") == 0)
			env.ret =
			    strcmp(argv[i + 1], "full") == 0 ? QUEUE_RET_FULL : QUEUE_RET_HDRS;
		else if (strcmp(argv[i], "--envid") == 0)
			env.envid = argv[i + 1];
		else if (strcmp(argv[i], "--origin") == 0)
			env.origin = argv[i + 1];
		else if (strcmp(argv[i], "--body") == 0)
			env.body = strcmp(argv[i + 1], "binarymime") == 0 ? QUEUE_BODY_BINARYMIME
			                                                  : QUEUE_BODY_8BITMIME;
		else if (strcmp(argv[i], "--arrival") == 0)
			env.arrival = atoll(argv[i + 1]);
		else
			return 64;
		i++;
	}
	if (queue_writer_begin(argv[1], &env, &w, &error) < 0) {
		fprintf(stderr, "queue_inject: %s\n", error);
		return 75;
	}
	for (; i < argc; i++) {
		char *spec = xstrdup(argv[i]), *save = NULL, *part;
		struct queue_recipient r = {.local = 1};

		part = strtok_r(spec, ",", &save);
		if (strncmp(part, "R:", 2) == 0) {
			r.local = 0;
			part += 2;
		}
		r.address = part;
		while ((part = strtok_r(NULL, ",", &save)) != NULL) {
			if (strncmp(part, "notify=", 7) == 0)
				r.notify = parse_notify(part + 7);
			else if (strncmp(part, "orcpt=", 6) == 0)
				r.orig_rcpt = part + 6;
			else if (strncmp(part, "given=", 6) == 0)
				r.given = part + 6;
		}
		if (queue_writer_add_recipient(w, &r, &error) < 0) {
			fprintf(stderr, "queue_inject: %s\n", error);
			return 65;
		}
		free(spec);
	}
	while ((n = read(0, buf, sizeof(buf))) > 0) {
		if (queue_writer_write(w, buf, (size_t)n, &error) < 0) {
			fprintf(stderr, "queue_inject: %s\n", error);
			queue_writer_abort(&w);
			return 75;
		}
	}
	printf("%s\n", queue_writer_id(w));
	if (queue_writer_commit(&w, &error) < 0) {
		fprintf(stderr, "queue_inject: %s\n", error);
		return 75;
	}
	return 0;
}
