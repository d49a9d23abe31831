/*
 * qmgr_pickup.c: maildrop/ files from sluice-sendmail become queue files.
 *
 * A maildrop file is untrusted (any local user writes one): queue_maildrop.c
 * checks it; here its addresses are parsed and qualified (bare names get
 * sendmail_domain), the sender is -f or the owner's login, recipients are
 * alias-expanded (qmgr_resolve.c), and the message is queued through the
 * same writer as sluice-smtpd uses, with a Received: line naming the
 * submitting uid and the Date:, Message-ID: and From: fields it lacks. The
 * maildrop file is removed only after the queue file is committed, so a
 * crash between the two queues the message twice, never zero times. A file
 * that cannot be queued now (database down) stays for the next round; a
 * bad one is logged and removed. Touches maildrop/ and the queue writer.
 */
#include "addr.h"
#include "bounce_dsn.h"
#include "log.h"
#include "mime.h"
#include "qmgr.h"
#include "queue_dir.h"
#include "queue_maildrop.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Temporary files left by a sendmail that died are removed after a day. */
#define PICKUP_TMP_MAX_AGE (24 * 3600)
/* How much of the content is searched for the header fields we may add. */
#define PICKUP_HEADER_SCAN (256 * 1024)

static bool has_8bit(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return true;
	}
	return false;
}

/* Parse and qualify an address; "" stays the null sender when allow_null. */
static int qualify(const char *in, const char *domain, bool allow_null, char *out,
                   const char **error_r)
{
	struct mail_address addr;

	if (in[0] == '\0' && allow_null) {
		out[0] = '\0';
		return 0;
	}
	if (addr_parse_mailbox(in, strlen(in),
	                       ADDR_SMTPUTF8 | ADDR_ALLOW_LITERAL | ADDR_ALLOW_NO_DOMAIN, &addr,
	                       error_r) < 0)
		return -1;
	if (addr.domain[0] == '\0' &&
	    addr_domain_normalize(domain, strlen(domain), ADDR_UTF8_DOMAIN, addr.domain, error_r) <
	        0)
		return -1;
	addr_format(&addr, out);
	return 0;
}

struct header_facts {
	bool has_header; /* the content starts with a header field */
	bool from, date, message_id;
};

/* Which of From:, Date:, Message-ID: the header block of buf has. */
static void scan_header(const char *buf, size_t len, struct header_facts *facts)
{
	size_t pos = 0;
	bool first = true;

	memset(facts, 0, sizeof(*facts));
	while (pos < len) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t llen = nl != NULL ? (size_t)(nl - line) : len - pos, name_len = 0;

		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (llen == 0)
			return; /* the end of the header */
		if (line[0] == ' ' || line[0] == '\t') {
			if (first)
				return;
		} else {
			while (name_len < llen && line[name_len] != ':' && line[name_len] > ' ' &&
			       line[name_len] < 127)
				name_len++;
			if (name_len == 0 || name_len == llen || line[name_len] != ':')
				return; /* not a field: the body starts here */
			if (first)
				facts->has_header = true;
			if (ascii_strncaseeq(line, name_len, "From"))
				facts->from = true;
			else if (ascii_strncaseeq(line, name_len, "Date"))
				facts->date = true;
			else if (ascii_strncaseeq(line, name_len, "Message-ID"))
				facts->message_id = true;
		}
		first = false;
		if (nl == NULL)
			return;
		pos = (size_t)(nl - buf) + 1;
	}
}

/* RFC 5322 3.4 display name: a quoted string, or RFC 2047 encoded-words when not ASCII. */
static void append_display_name(struct sbuf *b, const char *name)
{
	if (has_8bit(name)) {
		mime_header_encode(name, strlen(name), 0, "\r\n ", b);
		sbuf_append(b, " ", 1);
		return;
	}
	sbuf_append(b, "\"", 1);
	for (const char *p = name; *p != '\0'; p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		if (*p == '"' || *p == '\\')
			sbuf_append(b, "\\", 1);
		sbuf_append(b, p, 1);
	}
	sbuf_append_str(b, "\" ");
}

/* 0 queued (file removed), 1 bad (file removed), -1 not now (file kept). */
static int pickup_one(struct qmgr *q, const struct qmgr_settings *set, const char *name)
{
	struct maildrop_file *f = NULL;
	struct queue_writer *w = NULL;
	struct qmgr_dest_list dests = {0};
	struct sbuf head = {0};
	struct header_facts facts;
	const char *error = NULL, *domain = set->sendmail_domain;
	char sender[ADDR_BUFSZ], login[ADDR_LOCAL_BUFSZ], qualified[ADDR_BUFSZ], date[64];
	char esc[LOG_UNTRUSTED_BUFSZ], new_id[QUEUE_ID_BUFSZ], buf[65536];
	char *path = xasprintf("%s/maildrop/%s", set->queue_dir, name);
	struct passwd pw, *pwp = NULL;
	char pwbuf[4096];
	bool eight_bit = false, utf8 = false;
	char **added = NULL;
	size_t nadded = 0;
	uint64_t off = 0;
	size_t scan_len;
	int rc = 1;

	if (maildrop_open(set->queue_dir, name, set->sendmail_max_size,
	                  set->sendmail_max_recipients, &f, &error) < 0) {
		log_warn("maildrop: %s; removed", error);
		goto remove;
	}
	if (getpwuid_r(f->uid, &pw, pwbuf, sizeof(pwbuf), &pwp) == 0 && pwp != NULL &&
	    strlen(pw.pw_name) < sizeof(login))
		snprintf(login, sizeof(login), "%s", pw.pw_name);
	else
		snprintf(login, sizeof(login), "uid%u", (unsigned int)f->uid);
	if (qualify(f->sender != NULL ? f->sender : login, domain, f->sender != NULL, sender,
	            &error) < 0) {
		log_warn("maildrop/%s from uid %u: bad sender: %s; removed", name,
		         (unsigned int)f->uid, error);
		goto remove;
	}
	utf8 = has_8bit(sender);

	struct queue_envelope env = {
	    .sender = sender,
	    .envid = f->envid,
	    .ret = f->ret,
	    .body = QUEUE_BODY_7BIT,
	    .client_ip = "local",
	    .origin = "sendmail",
	    .arrival = (int64_t)f->mtime,
	};
	/* The content decides the body type: any octet above 127 makes it 8BITMIME. */
	while (off < f->size) {
		ssize_t n = maildrop_read(f, off, buf, sizeof(buf), &error);
		if (n < 0) {
			log_warn("maildrop/%s: %s; removed", name, error);
			goto remove;
		}
		for (ssize_t i = 0; i < n && !eight_bit; i++)
			eight_bit = (unsigned char)buf[i] >= 0x80;
		off += (uint64_t)n;
	}
	env.body = eight_bit ? QUEUE_BODY_8BITMIME : QUEUE_BODY_7BIT;
	for (size_t i = 0; i < f->rcpt_count; i++)
		utf8 |= has_8bit(f->rcpts[i]);
	env.smtputf8 = utf8;
	if (queue_writer_begin(set->queue_dir, &env, &w, &error) < 0) {
		log_error("maildrop/%s: %s", name, error);
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < f->rcpt_count; i++) {
		if (qualify(f->rcpts[i], domain, false, qualified, &error) < 0) {
			log_warn("maildrop/%s from uid %u: recipient <%s> dropped: %s", name,
			         (unsigned int)f->uid,
			         log_untrusted(esc, f->rcpts[i], strlen(f->rcpts[i])), error);
			continue;
		}
		if (qmgr_resolve(q, set, qualified, set->sendmail_max_recipients, &dests, &error) <
		    0) {
			log_warn("maildrop/%s: cannot expand recipients now: %s", name, error);
			rc = -1;
			goto out;
		}
		for (size_t j = 0; j < dests.count; j++) {
			bool dup = false;
			/* Named twice (directly and through an alias): delivered once. */
			for (size_t k = 0; k < nadded && !dup; k++)
				dup = strcasecmp(added[k], dests.items[j].address) == 0;
			if (dup)
				continue;
			added = xrealloc(added, (nadded + 1) * sizeof(*added));
			added[nadded++] = xstrdup(dests.items[j].address);
			struct queue_recipient r = {
			    .address = dests.items[j].address,
			    .given =
			        strcmp(dests.items[j].address, qualified) != 0 ? qualified : NULL,
			    .notify = f->notify,
			    .local = dests.items[j].local,
			};
			if (queue_writer_add_recipient(w, &r, &error) < 0) {
				log_error("maildrop/%s: %s", name, error);
				rc = -1;
				goto out;
			}
		}
		qmgr_dest_list_free(&dests);
	}

	if (nadded == 0) {
		log_warn("maildrop/%s from uid %u: no valid recipient; removed", name,
		         (unsigned int)f->uid);
		goto remove;
	}
	/* Our trace field, then the fields every message must have (RFC 5322 3.6). */
	scan_len = f->size < PICKUP_HEADER_SCAN ? (size_t)f->size : PICKUP_HEADER_SCAN;
	{
		char *hdr = xmalloc(scan_len + 1);
		ssize_t n = scan_len > 0 ? maildrop_read(f, 0, hdr, scan_len, &error) : 0;
		scan_header(hdr, n > 0 ? (size_t)n : 0, &facts);
		free(hdr);
	}
	bounce_rfc5322_date((int64_t)time(NULL), date, sizeof(date));
	sbuf_appendf(&head, "Received: by %s (sluice-sendmail, from userid %u)\r\n\tid %s; %s\r\n",
	             set->hostname, (unsigned int)f->uid, queue_writer_id(w), date);
	if (!facts.date)
		sbuf_appendf(&head, "Date: %s\r\n", date);
	if (!facts.message_id)
		sbuf_appendf(&head, "Message-ID: <%s@%s>\r\n", queue_writer_id(w), set->hostname);
	if (!facts.from) {
		sbuf_append_str(&head, "From: ");
		if (f->fullname != NULL && f->fullname[0] != '\0')
			append_display_name(&head, f->fullname);
		sbuf_appendf(&head, "<%s>\r\n", sender[0] != '\0' ? sender : "MAILER-DAEMON");
	}
	if (!facts.has_header)
		sbuf_append_str(&head, "\r\n");
	if (queue_writer_write(w, head.data, head.len, &error) < 0)
		goto write_failed;
	for (off = 0; off < f->size;) {
		ssize_t n = maildrop_read(f, off, buf, sizeof(buf), &error);
		if (n < 0 || queue_writer_write(w, buf, (size_t)n, &error) < 0)
			goto write_failed;
		off += (uint64_t)n;
	}
	snprintf(new_id, sizeof(new_id), "%s", queue_writer_id(w));
	/* Logged before the commit, which may let a delivery thread log at once. */
	log_set_queue_id(new_id);
	log_info("uid=%u from=<%s>", (unsigned int)f->uid,
	         log_untrusted(esc, sender, strlen(sender)));
	if (queue_writer_commit(&w, &error) < 0) {
		log_error("not queued: maildrop/%s: %s", name, error);
		log_set_queue_id(NULL);
		rc = -1;
		goto out;
	}
	log_set_queue_id(NULL);
	rc = 0;
	goto remove;
write_failed:
	log_error("maildrop/%s: %s", name, error);
	rc = -1;
	goto out;
remove:
	if (unlink(path) < 0 && errno != ENOENT)
		log_error("unlink %s: %s", path, strerror(errno));
out:
	for (size_t k = 0; k < nadded; k++)
		free(added[k]);
	free(added);
	queue_writer_abort(&w);
	qmgr_dest_list_free(&dests);
	sbuf_free(&head);
	maildrop_free(&f);
	free(path);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void qmgr_pickup_run(struct qmgr *q)
{
	struct qmgr_settings set;
	char *dir_path;
	DIR *dir;
	struct dirent *de;
	char **names = NULL;
	size_t count = 0;
	time_t now = time(NULL);

	qmgr_settings_copy(q, &set);
	dir_path = queue_path(set.queue_dir, QUEUE_SUB_MAILDROP, NULL);
	dir = opendir(dir_path);
	if (dir == NULL) {
		log_error("opendir %s: %s", dir_path, strerror(errno));
		goto out;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, ".tmp.", 5) == 0) {
			struct stat st;
			char *p = xasprintf("%s/%s", dir_path, de->d_name);
			if (lstat(p, &st) == 0 && st.st_mtime < now - PICKUP_TMP_MAX_AGE) {
				log_info("maildrop: removing stale %s", de->d_name);
				unlink(p);
			}
			free(p);
		} else if (maildrop_name_valid(de->d_name)) {
			names = xrealloc(names, (count + 1) * sizeof(*names));
			names[count++] = xstrdup(de->d_name);
		}
	}
	closedir(dir);
	/* Names are time-ordered: first written, first queued. */
	if (count > 1)
		qsort(names, count, sizeof(*names), cmp_names);
	for (size_t i = 0; i < count; i++) {
		/* Not now (database down): the rest waits too, for the next round. */
		if (!q->stopping && pickup_one(q, &set, names[i]) < 0) {
			for (size_t j = i; j < count; j++)
				free(names[j]);
			break;
		}
		free(names[i]);
	}
	free(names);
out:
	free(dir_path);
	qmgr_settings_free(&set);
}
