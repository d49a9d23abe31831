/*
 * log.c: the logging facility (see log.h).
 *
 * Owns only the process-wide destination settings, written once by log_init()
 * before threads start, and the per-thread session and queue ids. A line is
 * formatted into a local buffer and written with one write(2) so lines from
 * different threads never interleave.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048
#define LOG_ID_MAX 40

static const char *log_progname = "sluice";
static int log_use_syslog;
static enum log_level log_min_level = LOG_LEVEL_INFO;

static _Thread_local char log_session[LOG_ID_MAX];
static _Thread_local char log_queue_id[LOG_ID_MAX];

static const char *const level_names[] = {"debug", "info", "warning", "error"};

void log_init(const char *progname, int use_syslog, enum log_level min_level)
{
	const char *slash = strrchr(progname, '/');

	log_progname = slash != NULL ? slash + 1 : progname;
	log_use_syslog = use_syslog;
	log_min_level = min_level;
	if (use_syslog)
		openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

int log_level_parse(const char *name)
{
	if (strcmp(name, "warn") == 0)
		return LOG_LEVEL_WARN;
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	}
	return -1;
}

static void set_id(char *dst, const char *id)
{
	if (id == NULL)
		dst[0] = '\0';
	else
		snprintf(dst, LOG_ID_MAX, "%s", id);
}

void log_set_session(const char *session_id)
{
	set_id(log_session, session_id);
}

void log_set_queue_id(const char *queue_id)
{
	set_id(log_queue_id, queue_id);
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t len = 0, prefix_end;
	int n;

	if (level < log_min_level)
		return;
	if (!log_use_syslog) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		len = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(line + len, sizeof(line) - len, ".%03ldZ %s[%ld]: ",
			     ts.tv_nsec / 1000000, log_progname, (long)getpid());
		len += (size_t)n;
	}
	prefix_end = len;
	if (level != LOG_LEVEL_INFO) {
		n = snprintf(line + len, sizeof(line) - len, "%s: ", level_names[level]);
		len += (size_t)n;
	}
	if (log_session[0] != '\0') {
		n = snprintf(line + len, sizeof(line) - len, "session=%s: ", log_session);
		len += (size_t)n;
	}
	if (log_queue_id[0] != '\0') {
		n = snprintf(line + len, sizeof(line) - len, "%s: ", log_queue_id);
		len += (size_t)n;
	}
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (n < 0)
		n = 0;
	len += (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	/* A line is one line: callers escape untrusted text, but be sure. */
	for (size_t i = prefix_end; i < len; i++) {
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	}
	if (log_use_syslog) {
		static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
		line[len] = '\0';
		syslog(prio[level], "%s", line);
		return;
	}
	line[len++] = '\n';
	int saved_errno = errno;
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
	errno = saved_errno;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_fatal(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	exit(status);
}

void log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	abort();
}

const char *log_untrusted(char *buf, const void *data, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = data;
	size_t n = len > LOG_UNTRUSTED_MAX ? LOG_UNTRUSTED_MAX : len, o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	if (n < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}
