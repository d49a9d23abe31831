/*
 * sendmail_main.c: sluice-sendmail, the sendmail(1) command that PHP's
 * mail(), cron and scripts call; it can be installed as /usr/sbin/sendmail.
 *
 * Reads a message on standard input and queues it into maildrop/ (see
 * queue_maildrop.h), where sluice-qmgr picks it up; it needs no daemon, so
 * mail queued while the daemons are down waits there. Runs as the calling
 * user with no privilege: everything it writes is checked again by qmgr.
 *
 *   sluice-sendmail [options] [recipient ...]
 *   -t          recipients from To:, Cc:, Bcc: (Resent-* when present); Bcc: removed
 *   -i, -oi     a line with a single "." does not end the message
 *   -f sender   envelope sender (-r too); '<>' for the null sender
 *   -F name     full name for the From: field qmgr adds when there is none
 *   -N notify   DSN NOTIFY: never, or success,failure,delay
 *   -R ret      DSN RET: full or hdrs
 *   -V envid    DSN ENVID
 *   -bm         queue the message (the default); -bp lists the queue (mailq)
 *   -bs         speak SMTP on standard input and output (Symfony Mailer's
 *               default); each message becomes one maildrop file
 *   -C file, -c file   sluice.conf (only queue_directory and the limits are read)
 * Other classic options (-B, -o..., -v, -U, -L, -X, -h, -odb ...) are
 * accepted and ignored. Exit codes follow sysexits.h: 0, EX_USAGE,
 * EX_DATAERR, EX_TEMPFAIL (queue unavailable), EX_SOFTWARE.
 */
#include "addr.h"
#include "config.h"
#include "log.h"
#include "queue_maildrop.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_SOFTWARE 70
#define EX_TEMPFAIL 75
#define EX_CONFIG 78

/* Header fields an address list is read from for -t, at most this many addresses. */
#define SENDMAIL_MAX_HEADER_ADDRS 10000

static void usage(void)
{
	fprintf(stderr,
	        "usage: sluice-sendmail [-t] [-i] [-f sender] [-F name] [-N notify] [-R ret] "
	        "[-V envid] [-C sluice.conf] [recipient ...]\n");
	exit(EX_USAGE);
}

static void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sluice-sendmail: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(status);
}

struct rcpt_list {
	char **items;
	size_t count;
};

static void rcpt_add(struct rcpt_list *l, const struct mail_address *addr, unsigned int max)
{
	char buf[ADDR_BUFSZ];

	addr_format(addr, buf);
	for (size_t i = 0; i < l->count; i++) {
		if (strcasecmp(l->items[i], buf) == 0)
			return;
	}
	if (l->count >= max)
		die(EX_DATAERR, "too many recipients (at most %u)", max);
	l->items = xrealloc(l->items, (l->count + 1) * sizeof(*l->items));
	l->items[l->count++] = xstrdup(buf);
}

/* An address list ("a@b, Name <c@d>") from the command line or a header field. */
static void add_list(struct rcpt_list *l, const char *s, size_t len, unsigned int max,
                     const char *where)
{
	struct addr_list it;
	struct addr_mailbox mb;
	const char *error;
	int r;

	addr_list_init(&it, s, len, ADDR_SMTPUTF8 | ADDR_ALLOW_LITERAL | ADDR_ALLOW_NO_DOMAIN,
	               SENDMAIL_MAX_HEADER_ADDRS);
	while ((r = addr_list_next(&it, &mb, &error)) != 0) {
		if (r < 0)
			die(EX_DATAERR, "bad address in %s: %s", where, error);
		rcpt_add(l, &mb.addr, max);
	}
}

/* Read standard input as the message: LF becomes CRLF; "." alone ends it unless -i. */
static void read_message(struct sbuf *msg, bool dot_ends, uint64_t max_size)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		size_t len = (size_t)n;
		bool lf = line[len - 1] == '\n';

		if (lf)
			len--;
		if (lf && len > 0 && line[len - 1] == '\r')
			len--;
		if (dot_ends && lf && len == 1 && line[0] == '.')
			break;
		sbuf_append(msg, line, len);
		sbuf_append(msg, "\r\n", 2);
		if (msg->len > max_size)
			die(EX_DATAERR, "message larger than %llu bytes",
			    (unsigned long long)max_size);
	}
	free(line);
	if (ferror(stdin))
		die(EX_TEMPFAIL, "reading the message: %s", strerror(errno));
}

static bool name_is(const char *name, size_t len, const char *want)
{
	return ascii_strncaseeq(name, len, want);
}

/*
 * -t: collect the recipients of the header's To/Cc/Bcc fields (the Resent-
 * ones when there are any, RFC 5322 3.6.6) and cut the Bcc fields out.
 */
static void extract_recipients(struct sbuf *msg, struct rcpt_list *rcpts, unsigned int max)
{
	struct sbuf out = {0};
	size_t pos = 0, hdr_end = 0;
	bool resent = false;

	/* Two passes over the header: first whether Resent- fields exist, then the work. */
	for (int pass = 0; pass < 2; pass++) {
		pos = 0;
		while (pos < msg->len) {
			const char *line = msg->data + pos;
			size_t end = pos, name_len = 0;
			bool is_field;

			if (line[0] == '\r' || line[0] == '\n')
				break; /* the blank line */
			/* The field runs to a line end not followed by white space. */
			for (;;) {
				const char *nl = memchr(msg->data + end, '\n', msg->len - end);
				end = nl != NULL ? (size_t)(nl - msg->data) + 1 : msg->len;
				if (end >= msg->len ||
				    (msg->data[end] != ' ' && msg->data[end] != '\t'))
					break;
			}
			while (name_len < end - pos && line[name_len] != ':' &&
			       line[name_len] > ' ' && line[name_len] < 127)
				name_len++;
			is_field = name_len > 0 && name_len < end - pos && line[name_len] == ':';
			if (!is_field)
				break; /* no header (or no more): the body starts here */
			const char *value = line + name_len + 1;
			size_t vlen = end - pos - name_len - 1;
			bool bcc = name_is(line, name_len, resent ? "Resent-Bcc" : "Bcc");
			if (pass == 0) {
				if (name_len > 7 && ascii_strncaseeq(line, 7, "Resent-") &&
				    (name_is(line, name_len, "Resent-To") ||
				     name_is(line, name_len, "Resent-Cc") ||
				     name_is(line, name_len, "Resent-Bcc")))
					resent = true;
			} else {
				if (name_is(line, name_len, resent ? "Resent-To" : "To") ||
				    name_is(line, name_len, resent ? "Resent-Cc" : "Cc") || bcc)
					add_list(rcpts, value, vlen, max, "the header");
				if (!bcc)
					sbuf_append(&out, line, end - pos);
			}
			pos = end;
		}
		hdr_end = pos;
	}
	sbuf_append(&out, msg->data + hdr_end, msg->len - hdr_end);
	sbuf_free(msg);
	*msg = out;
}

static unsigned int parse_notify(const char *arg)
{
	unsigned int n = 0;
	char *copy = xstrdup(arg), *save = NULL;

	for (char *w = strtok_r(copy, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
		if (strcasecmp(w, "never") == 0)
			n |= QUEUE_NOTIFY_NEVER;
		else if (strcasecmp(w, "success") == 0)
			n |= QUEUE_NOTIFY_SUCCESS;
		else if (strcasecmp(w, "failure") == 0)
			n |= QUEUE_NOTIFY_FAILURE;
		else if (strcasecmp(w, "delay") == 0)
			n |= QUEUE_NOTIFY_DELAY;
		else
			die(EX_USAGE, "-N %s: expected never, or success,failure,delay", arg);
	}
	free(copy);
	/* RFC 3461 4.1: NEVER stands alone. */
	if ((n & QUEUE_NOTIFY_NEVER) && n != QUEUE_NOTIFY_NEVER)
		die(EX_USAGE, "-N: never cannot be combined");
	return n;
}

/* Queue one message into maildrop/; 0, or -1 with *error_r. */
static int drop(const char *queue_dir, const struct maildrop_envelope *env, const struct sbuf *msg,
                const char **error_r)
{
	struct maildrop_writer *w;

	if (maildrop_writer_begin(queue_dir, env, &w, error_r) < 0)
		return -1;
	if (maildrop_writer_write(w, msg->data != NULL ? msg->data : "", msg->len, error_r) < 0 ||
	    maildrop_writer_commit(&w, error_r) < 0) {
		maildrop_writer_abort(&w);
		return -1;
	}
	return 0;
}

static void reply(const char *text)
{
	fputs(text, stdout);
	fputs("\r\n", stdout);
	fflush(stdout);
}

/* A path after "MAIL FROM:" / "RCPT TO:" (RFC 5321 4.1.2); parameters are ignored. */
static int smtp_path(const char *arg, unsigned int flags, char *out)
{
	struct mail_address addr;
	const char *error;
	size_t used;

	if (addr_parse_path(arg, strlen(arg),
	                    flags | ADDR_SMTPUTF8 | ADDR_ALLOW_LITERAL | ADDR_ALLOW_SPACE_BEFORE,
	                    &addr, &used, &error) < 0)
		return -1;
	addr_format(&addr, out);
	return 0;
}

/*
 * -bs: a small SMTP server on standard input and output for a local client
 * that already runs as the user (RFC 5321 as far as such clients need it:
 * EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT). Every message goes into
 * maildrop/ like any other; qmgr checks it again.
 */
static int serve_smtp(const char *queue_dir, uint64_t max_size, unsigned int max_rcpts)
{
	char host[256] = "localhost", sender[ADDR_BUFSZ], *line = NULL;
	struct rcpt_list rcpts = {0};
	bool have_sender = false;
	size_t cap = 0;
	ssize_t n;

	gethostname(host, sizeof(host) - 1);
	printf("220 %s Sluice sendmail ESMTP\r\n", host);
	fflush(stdout);
	while ((n = getline(&line, &cap, stdin)) > 0) {
		size_t len = (size_t)n;
		char rcpt[ADDR_BUFSZ];

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (strncasecmp(line, "EHLO", 4) == 0) {
			printf("250-%s\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n", host);
			fflush(stdout);
		} else if (strncasecmp(line, "HELO", 4) == 0) {
			printf("250 %s\r\n", host);
			fflush(stdout);
		} else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
			if (have_sender)
				reply("503 5.5.1 Error: nested MAIL command");
			else if (smtp_path(line + 10, ADDR_ALLOW_NULL, sender) < 0)
				reply("501 5.1.7 Bad sender address syntax");
			else {
				have_sender = true;
				reply("250 2.1.0 Ok");
			}
		} else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
			if (!have_sender)
				reply("503 5.5.1 Error: need MAIL command");
			else if (smtp_path(line + 8, ADDR_ALLOW_POSTMASTER, rcpt) < 0)
				reply("501 5.1.3 Bad recipient address syntax");
			else if (rcpts.count >= max_rcpts)
				reply("452 4.5.3 Error: too many recipients");
			else {
				rcpts.items =
				    xrealloc(rcpts.items, (rcpts.count + 1) * sizeof(*rcpts.items));
				rcpts.items[rcpts.count++] = xstrdup(rcpt);
				reply("250 2.1.5 Ok");
			}
		} else if (strcasecmp(line, "DATA") == 0) {
			struct sbuf msg = {0};
			const char *error;
			bool too_big = false, eof = true;

			if (rcpts.count == 0) {
				reply(have_sender ? "554 5.5.1 Error: no valid recipients"
				                  : "503 5.5.1 Error: need RCPT command");
				continue;
			}
			reply("354 End data with <CR><LF>.<CR><LF>");
			while ((n = getline(&line, &cap, stdin)) > 0) {
				len = (size_t)n;
				while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
					len--;
				if (len == 1 && line[0] == '.') {
					eof = false;
					break;
				}
				/* RFC 5321 4.5.2: undo the dot-stuffing. */
				const char *p = line[0] == '.' ? line + 1 : line;
				size_t plen = line[0] == '.' ? len - 1 : len;
				if (msg.len + plen + 2 > max_size)
					too_big = true;
				if (!too_big) {
					sbuf_append(&msg, p, plen);
					sbuf_append(&msg, "\r\n", 2);
				}
			}
			if (eof) {
				sbuf_free(&msg);
				break;
			}
			struct maildrop_envelope env = {
			    .sender = sender,
			    .rcpts = (const char *const *)rcpts.items,
			    .rcpt_count = rcpts.count,
			};
			if (too_big)
				reply("552 5.3.4 Error: message file too big");
			else if (drop(queue_dir, &env, &msg, &error) < 0) {
				fprintf(stderr, "sluice-sendmail: cannot queue the message: %s\n",
				        error);
				reply("451 4.3.0 Error: queue file write error");
			} else
				reply("250 2.0.0 Ok: queued");
			sbuf_free(&msg);
			goto reset;
		} else if (strcasecmp(line, "RSET") == 0) {
			reply("250 2.0.0 Ok");
			goto reset;
		} else if (strncasecmp(line, "NOOP", 4) == 0) {
			reply("250 2.0.0 Ok");
		} else if (strcasecmp(line, "QUIT") == 0) {
			reply("221 2.0.0 Bye");
			break;
		} else {
			reply("502 5.5.2 Error: command not recognized");
		}
		continue;
	reset:
		for (size_t i = 0; i < rcpts.count; i++)
			free(rcpts.items[i]);
		rcpts.count = 0;
		have_sender = false;
	}
	for (size_t i = 0; i < rcpts.count; i++)
		free(rcpts.items[i]);
	free(rcpts.items);
	free(line);
	return 0;
}

/* -bp / mailq: sluice-queue list, from the folder this program lives in. */
static void exec_queue_list(const char *conf)
{
	char self[PATH_MAX], *slash, *tool;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		die(EX_SOFTWARE, "cannot find sluice-queue");
	self[n] = '\0';
	slash = strrchr(self, '/');
	*slash = '\0';
	tool = xasprintf("%s/sluice-queue", self);
	if (conf != NULL)
		execl(tool, "sluice-queue", "-c", conf, "list", (char *)NULL);
	else
		execl(tool, "sluice-queue", "list", (char *)NULL);
	die(EX_SOFTWARE, "exec %s: %s", tool, strerror(errno));
}

int main(int argc, char **argv)
{
	const char *conf = NULL, *sender = NULL, *fullname = NULL, *envid = NULL, *error = NULL;
	const char *prog = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 : argv[0];
	bool extract = false, dot_ends = true, list_queue = strcmp(prog, "mailq") == 0;
	bool smtp = false;
	unsigned int notify = 0, max_rcpts;
	enum queue_ret ret = QUEUE_RET_DEFAULT;
	struct rcpt_list rcpts = {0};
	struct sbuf msg = {0};
	struct config *cfg = NULL;
	char sender_buf[ADDR_BUFSZ];
	uint64_t max_size;
	int opt;

	log_init("sluice-sendmail", 0, LOG_LEVEL_WARN);
	while ((opt = getopt(argc, argv, "tiF:f:r:N:R:V:B:o:b:C:c:vUGL:X:h:q::m")) != -1) {
		switch (opt) {
		case 't':
			extract = true;
			break;
		case 'i':
			dot_ends = false;
			break;
		case 'f':
		case 'r':
			sender = optarg;
			break;
		case 'F':
			fullname = optarg;
			break;
		case 'N':
			notify = parse_notify(optarg);
			break;
		case 'R':
			if (strcasecmp(optarg, "full") == 0)
				ret = QUEUE_RET_FULL;
			else if (strcasecmp(optarg, "hdrs") == 0)
				ret = QUEUE_RET_HDRS;
			else
				die(EX_USAGE, "-R %s: expected full or hdrs", optarg);
			break;
		case 'V':
			envid = optarg;
			break;
		case 'o':
			/* -oi is -i; -oem, -odb, -oXvalue ... are sendmail's and mean nothing here.
			 */
			if (strcmp(optarg, "i") == 0)
				dot_ends = false;
			break;
		case 'b':
			if (strcmp(optarg, "p") == 0)
				list_queue = true;
			else if (strcmp(optarg, "s") == 0)
				smtp = true;
			else if (strcmp(optarg, "m") != 0)
				die(EX_USAGE, "-b%s is not supported (only -bm, -bp and -bs)",
				    optarg);
			break;
		case 'C':
		case 'c':
			conf = optarg;
			break;
		case 'q':
			die(EX_USAGE, "-q: use `sluice-queue flush`");
		case 'B':
		case 'v':
		case 'U':
		case 'G':
		case 'L':
		case 'X':
		case 'h':
		case 'm':
			break;
		default:
			usage();
		}
	}
	if (list_queue)
		exec_queue_list(conf);

	/* sluice.conf is often unreadable for ordinary users: then the defaults hold. */
	if (conf == NULL && access(config_path(NULL), R_OK) < 0 && errno == EACCES)
		cfg = config_defaults();
	else if (config_load(config_path(conf), conf == NULL, &cfg, &error) < 0)
		die(EX_CONFIG, "%s", error);
	max_size = (uint64_t)config_size(cfg, "sendmail_max_message_size");
	max_rcpts = (unsigned int)config_int(cfg, "sendmail_max_recipients");
	if (smtp) {
		int rc = serve_smtp(config_str(cfg, "queue_directory"), max_size, max_rcpts);
		config_free(&cfg);
		return rc;
	}

	if (sender != NULL) {
		struct mail_address addr;
		size_t len = strlen(sender);
		/* "-f <a@b>" and "-f '<>'": angle brackets are allowed. */
		if (len >= 2 && sender[0] == '<' && sender[len - 1] == '>') {
			sender++;
			len -= 2;
		}
		if (len == 0) {
			sender = "";
		} else {
			if (addr_parse_mailbox(sender, len,
			                       ADDR_SMTPUTF8 | ADDR_ALLOW_LITERAL |
			                           ADDR_ALLOW_NO_DOMAIN,
			                       &addr, &error) < 0)
				die(EX_DATAERR, "bad sender address: %s", error);
			addr_format(&addr, sender_buf);
			sender = sender_buf;
		}
	}
	for (int i = optind; i < argc; i++)
		add_list(&rcpts, argv[i], strlen(argv[i]), max_rcpts, "the arguments");

	read_message(&msg, dot_ends, max_size);
	if (extract)
		extract_recipients(&msg, &rcpts, max_rcpts);
	if (rcpts.count == 0)
		die(EX_USAGE, "no recipients: give them as arguments or use -t");

	struct maildrop_envelope env = {
	    .sender = sender,
	    .fullname = fullname,
	    .rcpts = (const char *const *)rcpts.items,
	    .rcpt_count = rcpts.count,
	    .notify = notify,
	    .ret = ret,
	    .envid = envid,
	};
	if (drop(config_str(cfg, "queue_directory"), &env, &msg, &error) < 0)
		die(EX_TEMPFAIL, "cannot queue the message: %s", error);
	for (size_t i = 0; i < rcpts.count; i++)
		free(rcpts.items[i]);
	free(rcpts.items);
	sbuf_free(&msg);
	config_free(&cfg);
	return 0;
}
