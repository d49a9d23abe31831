/*
 * queue_tool.c: sluice-queue, the administrator's view of the mail queue
 * (what Postfix's mailq, postcat -q, postqueue -f and postsuper -d/-h/-H do).
 *
 *   sluice-queue [-c sluice.conf] [--json] list            every queued message (mailq)
 *   sluice-queue [-c sluice.conf] [--json] show ID [--body] envelope, recipients, diagnostics
 *   sluice-queue [-c sluice.conf] flush [ID]               retry deferred mail now
 *   sluice-queue [-c sluice.conf] delete ID...|ALL         remove messages
 *   sluice-queue [-c sluice.conf] hold ID...|ALL           keep messages from delivery
 *   sluice-queue [-c sluice.conf] release ID...|ALL        deliver held messages again
 *   sluice-queue [-c sluice.conf] init                     create the queue folders
 *
 * Reads queue files read-only; changes the queue only by renames and
 * unlinks, which sluice-qmgr tolerates at any moment (its own renames fail
 * with ENOENT and it lets the message go). flush and release move files
 * into incoming/, which wakes qmgr through inotify. Runs as root or the
 * queue's owner. Exit codes: 0, 64 usage, 66 no such message, 74 I/O error.
 */
#include "bounce_log.h"
#include "config.h"
#include "log.h"
#include "queue_dir.h"
#include "queue_msg.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EX_USAGE 64
#define EX_NOINPUT 66
#define EX_IOERR 74
#define EX_CONFIG 78

static const char *queue_dir;
static bool json;

static void usage(void)
{
	fprintf(stderr, "usage: sluice-queue [-c sluice.conf] [--json] list\n"
	                "       sluice-queue [-c sluice.conf] [--json] show ID [--body]\n"
	                "       sluice-queue [-c sluice.conf] flush [ID]\n"
	                "       sluice-queue [-c sluice.conf] delete|hold|release ID...|ALL\n"
	                "       sluice-queue [-c sluice.conf] init\n");
	exit(EX_USAGE);
}

/* RFC 8259 7: a JSON string literal. */
static void json_str(struct sbuf *b, const char *s)
{
	sbuf_append(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			sbuf_appendf(b, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			sbuf_appendf(b, "\\u%04x", *p);
		else
			sbuf_append(b, (const char *)p, 1);
	}
	sbuf_append(b, "\"", 1);
}

static void iso_time(int64_t t, char *out, size_t outsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static struct queue_msg *open_msg(enum queue_sub sub, const char *id, const char **error_r)
{
	char *path = queue_path(queue_dir, sub, id);
	struct queue_msg *msg = NULL;
	int r = queue_msg_open(path, false, &msg, error_r);

	free(path);
	return r == 0 ? msg : NULL;
}

/* One message as a JSON object (without the header unless given). */
static void msg_json(struct sbuf *b, enum queue_sub sub, const struct queue_msg *msg,
                     const struct bounce_log_last *last, const char *header)
{
	char t[32];

	sbuf_append_str(b, "{\"id\":");
	json_str(b, msg->id);
	sbuf_appendf(b, ",\"queue\":\"%s\",\"size\":%llu,", queue_sub_name(sub),
	             (unsigned long long)msg->size);
	iso_time(msg->arrival_ms / 1000, t, sizeof(t));
	sbuf_appendf(b, "\"arrival\":\"%s\",\"sender\":", t);
	json_str(b, msg->sender);
	sbuf_append_str(b, ",\"origin\":");
	json_str(b, msg->origin);
	sbuf_append_str(b, ",\"client\":");
	json_str(b, msg->client_ip);
	if (msg->auth_user != NULL) {
		sbuf_append_str(b, ",\"auth\":");
		json_str(b, msg->auth_user);
	}
	if (msg->envid != NULL) {
		sbuf_append_str(b, ",\"envid\":");
		json_str(b, msg->envid);
	}
	sbuf_appendf(b, ",\"attempts\":%u", msg->attempts);
	if (msg->next_attempt > 0) {
		iso_time(msg->next_attempt, t, sizeof(t));
		sbuf_appendf(b, ",\"next_attempt\":\"%s\"", t);
	} else {
		sbuf_append_str(b, ",\"next_attempt\":null");
	}
	sbuf_append_str(b, ",\"recipients\":[");
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		const struct queue_msg_rcpt *r = &msg->rcpts[i];
		if (i > 0)
			sbuf_append(b, ",", 1);
		sbuf_append_str(b, "{\"address\":");
		json_str(b, r->address);
		if (r->given != NULL) {
			sbuf_append_str(b, ",\"given\":");
			json_str(b, r->given);
		}
		sbuf_appendf(b, ",\"local\":%s,\"status\":\"%s\",\"dsn\":",
		             r->local ? "true" : "false", queue_rcpt_status_name(r->status));
		if (r->dsn[0] != '\0')
			json_str(b, r->dsn);
		else
			sbuf_append_str(b, "null");
		sbuf_append_str(b, ",\"diagnostic\":");
		if (last != NULL && last[i].text != NULL)
			json_str(b, last[i].text);
		else
			sbuf_append_str(b, "null");
		sbuf_append_str(b, "}");
	}
	sbuf_append_str(b, "]");
	if (header != NULL) {
		sbuf_append_str(b, ",\"header\":");
		json_str(b, header);
	}
	sbuf_append_str(b, "}");
}

static int cmd_list(void)
{
	struct sbuf out = {0};
	uint64_t total = 0, count = 0;
	bool first = true;
	int rc = 0;

	if (json)
		sbuf_append_str(&out, "[");
	else
		sbuf_append_str(&out, "-Queue ID-        --Size-- ----Arrival Time---- -Queue--- "
		                      "-Sender/Recipient-------\n");
	for (int s = 0; s < QUEUE_SUB_MESSAGES; s++) {
		struct queue_id_list list;
		const char *error;

		if (queue_list(queue_dir, (enum queue_sub)s, &list, &error) < 0) {
			fprintf(stderr, "sluice-queue: %s\n", error);
			rc = EX_IOERR;
			continue;
		}
		for (size_t i = 0; i < list.count; i++) {
			struct queue_msg *msg = open_msg((enum queue_sub)s, list.ids[i], &error);
			struct bounce_log_last *last = NULL;
			char t[32];
			time_t at;
			struct tm tm;

			if (msg == NULL)
				continue; /* moved or removed while we looked */
			bounce_log_read(queue_dir, msg->id, msg->rcpt_count, &last, &error);
			count++;
			total += msg->size;
			if (json) {
				if (!first)
					sbuf_append(&out, ",", 1);
				first = false;
				msg_json(&out, (enum queue_sub)s, msg, last, NULL);
			} else {
				at = (time_t)(msg->arrival_ms / 1000);
				gmtime_r(&at, &tm);
				strftime(t, sizeof(t), "%a %b %e %H:%M:%S", &tm);
				sbuf_appendf(&out, "%-16s %9llu %-20s %-9s %s\n", msg->id,
				             (unsigned long long)msg->size, t,
				             queue_sub_name((enum queue_sub)s),
				             msg->sender[0] != '\0' ? msg->sender
				                                    : "MAILER-DAEMON");
				for (size_t r = 0; r < msg->rcpt_count; r++) {
					const struct queue_msg_rcpt *rc_ = &msg->rcpts[r];
					if (queue_rcpt_status_final(rc_->status))
						continue;
					if (last != NULL && last[r].text != NULL)
						sbuf_appendf(&out, "%58s(%s)\n", "", last[r].text);
					sbuf_appendf(&out, "%58s%s (%s)\n", "", rc_->address,
					             queue_rcpt_status_name(rc_->status));
				}
				sbuf_append_str(&out, "\n");
			}
			bounce_log_last_free(&last, msg->rcpt_count);
			queue_msg_free(&msg);
		}
		queue_id_list_free(&list);
	}
	if (json)
		sbuf_append_str(&out, "]\n");
	else if (count == 0)
		sbuf_append_str(&out, "Mail queue is empty\n");
	else
		sbuf_appendf(&out, "-- %llu Kbytes in %llu Request%s.\n",
		             (unsigned long long)((total + 1023) / 1024), (unsigned long long)count,
		             count == 1 ? "" : "s");
	fwrite(out.data, 1, out.len, stdout);
	sbuf_free(&out);
	return rc;
}

static int cmd_show(const char *id, bool body)
{
	enum queue_sub sub;
	const char *error;
	struct queue_msg *msg = NULL;
	struct bounce_log_last *last = NULL;
	struct sbuf out = {0}, hdr = {0};
	char t[32];

	for (int tries = 0; msg == NULL; tries++) {
		int r = queue_locate(queue_dir, id, &sub, &error);
		if (r != 0) {
			fprintf(stderr, "sluice-queue: %s: %s\n", id, error);
			return r > 0 ? EX_NOINPUT : EX_IOERR;
		}
		msg = open_msg(sub, id, &error);
		if (msg == NULL && tries >= 3) {
			fprintf(stderr, "sluice-queue: %s\n", error);
			return EX_IOERR;
		}
	}
	bounce_log_read(queue_dir, msg->id, msg->rcpt_count, &last, &error);
	if (queue_msg_read_header(msg, 1024 * 1024, &hdr, &error) < 0)
		fprintf(stderr, "sluice-queue: %s\n", error);
	if (json) {
		msg_json(&out, sub, msg, last, sbuf_str(&hdr));
		sbuf_append_str(&out, "\n");
	} else {
		sbuf_appendf(&out, "id: %s\nqueue: %s\nsize: %llu\n", msg->id, queue_sub_name(sub),
		             (unsigned long long)msg->size);
		iso_time(msg->arrival_ms / 1000, t, sizeof(t));
		sbuf_appendf(&out, "arrival: %s\nsender: <%s>\norigin: %s\nclient: %s\n", t,
		             msg->sender, msg->origin, msg->client_ip);
		if (msg->client_helo != NULL)
			sbuf_appendf(&out, "helo: %s\n", msg->client_helo);
		if (msg->auth_user != NULL)
			sbuf_appendf(&out, "auth: %s\n", msg->auth_user);
		if (msg->envid != NULL)
			sbuf_appendf(&out, "envid: %s\n", msg->envid);
		sbuf_appendf(&out, "body: %s%s\n",
		             msg->body == QUEUE_BODY_7BIT       ? "7bit"
		             : msg->body == QUEUE_BODY_8BITMIME ? "8bitmime"
		                                                : "binarymime",
		             msg->smtputf8 ? ", smtputf8" : "");
		sbuf_appendf(&out, "attempts: %u\n", msg->attempts);
		if (msg->next_attempt > 0) {
			iso_time(msg->next_attempt, t, sizeof(t));
			sbuf_appendf(&out, "next attempt: %s\n", t);
		}
		for (size_t i = 0; i < msg->rcpt_count; i++) {
			const struct queue_msg_rcpt *r = &msg->rcpts[i];
			sbuf_appendf(&out, "recipient: <%s> %s %s%s%s", r->address,
			             r->local ? "local" : "remote",
			             queue_rcpt_status_name(r->status),
			             r->dsn[0] != '\0' ? " " : "", r->dsn);
			if (r->given != NULL)
				sbuf_appendf(&out, " (sent to <%s>)", r->given);
			sbuf_append_str(&out, "\n");
			if (last != NULL && last[i].text != NULL)
				sbuf_appendf(&out, "  last: %s\n", last[i].text);
		}
		sbuf_append_str(&out, "\n");
		if (!body)
			sbuf_append(&out, sbuf_str(&hdr), hdr.len);
	}
	fwrite(out.data, 1, out.len, stdout);
	if (body && !json) {
		char buf[65536];
		for (uint64_t off = 0; off < msg->size;) {
			ssize_t n = queue_msg_read(msg, off, buf, sizeof(buf), &error);
			if (n <= 0)
				break;
			fwrite(buf, 1, (size_t)n, stdout);
			off += (uint64_t)n;
		}
	}
	sbuf_free(&out);
	sbuf_free(&hdr);
	bounce_log_last_free(&last, msg->rcpt_count);
	queue_msg_free(&msg);
	return 0;
}

enum action { ACT_DELETE, ACT_HOLD, ACT_RELEASE, ACT_FLUSH };

/* Act on one message; 0 done, 1 not applicable (wrong folder), -1 no such message. */
static int act_one(enum action act, const char *id)
{
	for (int tries = 0; tries < 5; tries++) {
		enum queue_sub sub;
		const char *error;
		int r = queue_locate(queue_dir, id, &sub, &error);
		char *path;

		if (r != 0)
			return -1;
		switch (act) {
		case ACT_DELETE:
			path = queue_path(queue_dir, sub, id);
			r = unlink(path);
			free(path);
			if (r == 0) {
				bounce_log_remove(queue_dir, id);
				return 0;
			}
			break;
		case ACT_HOLD:
			if (sub == QUEUE_SUB_HOLD)
				return 1;
			if (queue_move(queue_dir, id, sub, QUEUE_SUB_HOLD) == 0)
				return 0;
			break;
		case ACT_RELEASE:
			if (sub != QUEUE_SUB_HOLD)
				return 1;
			if (queue_move(queue_dir, id, sub, QUEUE_SUB_INCOMING) == 0)
				return 0;
			break;
		case ACT_FLUSH:
			if (sub != QUEUE_SUB_DEFERRED)
				return 1;
			if (queue_move(queue_dir, id, sub, QUEUE_SUB_INCOMING) == 0)
				return 0;
			break;
		}
		if (errno != ENOENT) {
			fprintf(stderr, "sluice-queue: %s: %s\n", id, strerror(errno));
			return -1;
		}
		/* qmgr moved it meanwhile: look again. */
	}
	return -1;
}

static int cmd_act(enum action act, int argc, char **argv)
{
	static const char *const done_word[] = {"deleted", "held", "released", "flushed"};
	unsigned int done = 0;
	int rc = 0;

	if (argc == 1 && strcmp(argv[0], "ALL") == 0) {
		static const enum queue_sub from[][4] = {
		    [ACT_DELETE] = {QUEUE_SUB_INCOMING, QUEUE_SUB_ACTIVE, QUEUE_SUB_DEFERRED,
		                    QUEUE_SUB_HOLD},
		    [ACT_HOLD] = {QUEUE_SUB_INCOMING, QUEUE_SUB_ACTIVE, QUEUE_SUB_DEFERRED,
		                  QUEUE_SUB_COUNT},
		    [ACT_RELEASE] = {QUEUE_SUB_HOLD, QUEUE_SUB_COUNT, QUEUE_SUB_COUNT,
		                     QUEUE_SUB_COUNT},
		    [ACT_FLUSH] = {QUEUE_SUB_DEFERRED, QUEUE_SUB_COUNT, QUEUE_SUB_COUNT,
		                   QUEUE_SUB_COUNT},
		};
		for (int i = 0; i < 4 && from[act][i] != QUEUE_SUB_COUNT; i++) {
			struct queue_id_list list;
			const char *error;

			if (queue_list(queue_dir, from[act][i], &list, &error) < 0) {
				fprintf(stderr, "sluice-queue: %s\n", error);
				rc = EX_IOERR;
				continue;
			}
			for (size_t j = 0; j < list.count; j++) {
				if (act_one(act, list.ids[j]) == 0)
					done++;
			}
			queue_id_list_free(&list);
		}
	} else {
		for (int i = 0; i < argc; i++) {
			int r = act_one(act, argv[i]);
			if (r < 0) {
				fprintf(stderr, "sluice-queue: %s: no such message\n", argv[i]);
				rc = EX_NOINPUT;
			} else if (r == 0) {
				done++;
			}
		}
	}
	if (json)
		printf("{\"action\":\"%s\",\"count\":%u}\n", done_word[act], done);
	else
		printf("%s %u message%s\n", done_word[act], done, done == 1 ? "" : "s");
	return rc;
}

/* init: the folders, owned by run_user when we are root (what sluice-qmgr does at start). */
static int cmd_init(const struct config *cfg)
{
	const char *user = config_str(cfg, "run_user"), *error;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	if (user[0] != '\0' && geteuid() == 0) {
		struct passwd *pw = getpwnam(user);
		if (pw == NULL) {
			fprintf(stderr, "sluice-queue: run_user %s: no such user\n", user);
			return 67; /* EX_NOUSER */
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (queue_dirs_init(queue_dir, uid, gid, &error) < 0) {
		fprintf(stderr, "sluice-queue: %s\n", error);
		return 73; /* EX_CANTCREAT */
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *conf = NULL, *error = NULL, *cmd;
	struct config *cfg = NULL;
	bool body = false;
	char **args = xcalloc((size_t)argc + 1, sizeof(*args));
	int nargs = 0, rc;

	log_init("sluice-queue", 0, LOG_LEVEL_WARN);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			conf = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--body") == 0)
			body = true;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			usage();
		else
			args[nargs++] = argv[i];
	}
	if (nargs == 0)
		usage();
	if (config_load(config_path(conf), conf == NULL, &cfg, &error) < 0) {
		fprintf(stderr, "sluice-queue: %s\n", error);
		return EX_CONFIG;
	}
	queue_dir = config_str(cfg, "queue_directory");
	cmd = args[0];
	if (strcmp(cmd, "list") == 0 && nargs == 1)
		rc = cmd_list();
	else if (strcmp(cmd, "show") == 0 && nargs == 2)
		rc = cmd_show(args[1], body);
	else if (strcmp(cmd, "flush") == 0 && nargs <= 2)
		rc = nargs == 1 ? cmd_act(ACT_FLUSH, 1, (char *[]){(char *)"ALL"})
		                : cmd_act(ACT_FLUSH, 1, &args[1]);
	else if (strcmp(cmd, "init") == 0 && nargs == 1)
		rc = cmd_init(cfg);
	else if (strcmp(cmd, "delete") == 0 && nargs >= 2)
		rc = cmd_act(ACT_DELETE, nargs - 1, &args[1]);
	else if (strcmp(cmd, "hold") == 0 && nargs >= 2)
		rc = cmd_act(ACT_HOLD, nargs - 1, &args[1]);
	else if (strcmp(cmd, "release") == 0 && nargs >= 2)
		rc = cmd_act(ACT_RELEASE, nargs - 1, &args[1]);
	else
		usage();
	config_free(&cfg);
	free(args);
	return rc;
}
