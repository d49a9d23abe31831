/*
 * bounce_log.c: bounce/<id>.log, the per-recipient diagnostics of a queued
 * message (see bounce_log.h). A line is
 *   <rcpt index> <unix time> <status letter> <dsn> <diagnostic as xtext>
 * appended with O_APPEND in one write(2). Touches only bounce/<id>.log.
 */
#include "bounce_log.h"
#include "queue_format.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A log read back is bounded: a message retried for 5 days has a few hundred lines. */
#define BOUNCE_LOG_MAX (16u * 1024 * 1024)

static char *log_path(const char *queue_dir, const char *id)
{
	return xasprintf("%s/bounce/%s.log", queue_dir, id);
}

int bounce_log_append(const char *queue_dir, const char *id, const struct bounce_log_entry *entries,
                      size_t count, bool sync, const char **error_r)
{
	char *path = log_path(queue_dir, id);
	struct sbuf b = {0};
	int fd, rc = -1;

	for (size_t i = 0; i < count; i++) {
		const char *text = entries[i].text != NULL ? entries[i].text : "";
		sbuf_appendf(&b, "%zu %lld %c %s ", entries[i].rcpt, (long long)entries[i].time,
		             entries[i].status,
		             entries[i].dsn != NULL && entries[i].dsn[0] != '\0' ? entries[i].dsn
		                                                                 : "-");
		queue_xtext_encode(&b, text, strlen(text));
		sbuf_append(&b, "\n", 1);
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		*error_r = errorf("open %s: %s", path, strerror(errno));
		goto out;
	}
	for (size_t off = 0; off < b.len;) {
		ssize_t n = write(fd, b.data + off, b.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = errorf("write %s: %s", path, strerror(errno));
			close(fd);
			goto out;
		}
		off += (size_t)n;
	}
	if (sync && fdatasync(fd) < 0) {
		*error_r = errorf("fdatasync %s: %s", path, strerror(errno));
		close(fd);
		goto out;
	}
	close(fd);
	rc = 0;
out:
	sbuf_free(&b);
	free(path);
	return rc;
}

/* Parse one line into *e (strings allocated); -1 when damaged. */
static int parse_line(char *line, size_t rcpt_count, size_t *rcpt_r, struct bounce_log_last *e)
{
	char *f[5], *save = NULL, *p = line;
	unsigned long long idx;
	long long t;
	char *end;

	for (int i = 0; i < 5; i++) {
		f[i] = strtok_r(p, " ", &save);
		p = NULL;
		if (f[i] == NULL && i < 4)
			return -1;
	}
	if (f[4] == NULL)
		f[4] = (char *)"";
	errno = 0;
	idx = strtoull(f[0], &end, 10);
	if (errno != 0 || *end != '\0' || idx >= rcpt_count)
		return -1;
	t = strtoll(f[1], &end, 10);
	if (errno != 0 || *end != '\0' || strlen(f[2]) != 1 || strlen(f[3]) > 9)
		return -1;
	e->text = NULL;
	if (queue_xtext_decode(f[4], strlen(f[4]), &e->text) < 0)
		return -1;
	e->time = t;
	e->status = f[2][0];
	e->dsn = xstrdup(strcmp(f[3], "-") == 0 ? "" : f[3]);
	*rcpt_r = (size_t)idx;
	return 0;
}

int bounce_log_read(const char *queue_dir, const char *id, size_t rcpt_count,
                    struct bounce_log_last **last_r, const char **error_r)
{
	char *path = log_path(queue_dir, id);
	struct bounce_log_last *last = xcalloc(rcpt_count, sizeof(*last));
	struct sbuf b = {0};
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*last_r = last;
	if (fd < 0) {
		free(path);
		if (errno == ENOENT)
			return 0;
		*error_r = errorf("open %s/bounce/%s.log: %s", queue_dir, id, strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = errorf("read %s: %s", path, strerror(errno));
			close(fd);
			free(path);
			sbuf_free(&b);
			return -1;
		}
		if (n == 0 || b.len + (size_t)n > BOUNCE_LOG_MAX)
			break;
		sbuf_append(&b, buf, (size_t)n);
	}
	close(fd);
	free(path);
	for (char *line = b.data, *nl; line != NULL && (nl = strchr(line, '\n')) != NULL;
	     line = nl + 1) {
		struct bounce_log_last e;
		size_t idx;

		*nl = '\0';
		if (parse_line(line, rcpt_count, &idx, &e) < 0)
			continue;
		free(last[idx].dsn);
		free(last[idx].text);
		last[idx] = e;
	}
	sbuf_free(&b);
	return 0;
}

void bounce_log_last_free(struct bounce_log_last **last, size_t rcpt_count)
{
	if (*last == NULL)
		return;
	for (size_t i = 0; i < rcpt_count; i++) {
		free((*last)[i].dsn);
		free((*last)[i].text);
	}
	free(*last);
	*last = NULL;
}

void bounce_log_remove(const char *queue_dir, const char *id)
{
	char *path = log_path(queue_dir, id);

	unlink(path);
	free(path);
}
