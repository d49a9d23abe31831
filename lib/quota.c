/*
 * quota.c: the quota rules (see quota.h): fit checks, usage percentages,
 * warning thresholds and the text of the warning message. No I/O.
 */
#include "quota.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

enum quota_verdict quota_check(const struct quota_state *q, int64_t bytes, int64_t messages)
{
	bool probe = bytes == 0 && messages == 0;

	if (q->limit_bytes > 0 &&
	    (probe ? q->used_bytes >= q->limit_bytes : q->used_bytes + bytes > q->limit_bytes))
		return QUOTA_OVER_MAILBOX;
	if (q->limit_messages > 0 && (probe ? q->used_messages >= q->limit_messages
	                                    : q->used_messages + messages > q->limit_messages))
		return QUOTA_OVER_MAILBOX;
	if (q->domain_limit_bytes > 0 &&
	    (probe ? q->domain_used_bytes >= q->domain_limit_bytes
	           : q->domain_used_bytes + bytes > q->domain_limit_bytes))
		return QUOTA_OVER_DOMAIN;
	return QUOTA_FITS;
}

static int percent_of(int64_t used, int64_t limit)
{
	if (limit <= 0 || used <= 0)
		return 0;
	if (used >= limit)
		return used / limit >= 10 ? 1000 : (int)(100 * used / limit);
	/* below the limit: 100 * used fits (used < limit <= INT64_MAX / 100 in practice) */
	if (used > INT64_MAX / 100)
		return (int)(used / (limit / 100));
	return (int)(100 * used / limit);
}

int quota_percent(const struct quota_state *q)
{
	int b = percent_of(q->used_bytes, q->limit_bytes);
	int m = percent_of(q->used_messages, q->limit_messages);

	return b > m ? b : m;
}

int quota_thresholds_parse(const char *spec, int *thresholds, size_t *n_r, const char **error_r)
{
	const char *p = spec;
	size_t n = 0;

	while (*p != '\0') {
		char *end;
		long v;

		if (*p == ' ' || *p == ',' || *p == '\t') {
			p++;
			continue;
		}
		v = strtol(p, &end, 10);
		if (end == p || v < 1 || v > 100 ||
		    (*end != '\0' && strchr(" ,\t%", *end) == NULL)) {
			*error_r = "thresholds are whole percentages from 1 to 100";
			return -1;
		}
		if (*end == '%')
			end++;
		if (n == QUOTA_MAX_THRESHOLDS) {
			*error_r = errorf("at most %d thresholds", QUOTA_MAX_THRESHOLDS);
			return -1;
		}
		if (n > 0 && v <= thresholds[n - 1]) {
			*error_r = "thresholds must be in ascending order";
			return -1;
		}
		thresholds[n++] = (int)v;
		p = end;
	}
	*n_r = n;
	return 0;
}

int quota_warning_due(const int *thresholds, size_t n, int warned_percent, int percent)
{
	int due = 0;

	for (size_t i = 0; i < n; i++) {
		if (thresholds[i] <= percent && thresholds[i] > warned_percent)
			due = thresholds[i];
	}
	return due;
}

static void format_size(int64_t bytes, char *buf, size_t size)
{
	if (bytes >= 1024LL * 1024 * 1024)
		snprintf(buf, size, "%.1f GiB", (double)bytes / (1024.0 * 1024 * 1024));
	else if (bytes >= 1024LL * 1024)
		snprintf(buf, size, "%.1f MiB", (double)bytes / (1024.0 * 1024));
	else if (bytes >= 1024)
		snprintf(buf, size, "%.1f KiB", (double)bytes / 1024.0);
	else
		snprintf(buf, size, "%lld bytes", (long long)bytes);
}

void quota_warning_message(const char *from, const char *address, int threshold,
                           const struct quota_state *q, time_t now, const char *hostname,
                           struct sbuf *out)
{
	char date[64], used[32], limit[32];
	uint64_t id = 0;
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
		id = (uint64_t)now;
	sbuf_appendf(out, "From: Mail System <%s>\r\n", from);
	sbuf_appendf(out, "To: <%s>\r\n", address);
	sbuf_appendf(out, "Subject: Your mailbox is %d%% full\r\n", threshold);
	sbuf_appendf(out, "Date: %s\r\n", date);
	sbuf_appendf(out, "Message-ID: <quota.%llx.%lld@%s>\r\n", (unsigned long long)id,
	             (long long)now, hostname);
	/* RFC 3834 5: an automatic message; no vacation replies to it */
	sbuf_append_str(out, "Auto-Submitted: auto-generated\r\n");
	sbuf_append_str(out, "MIME-Version: 1.0\r\n");
	sbuf_append_str(out, "Content-Type: text/plain; charset=us-ascii\r\n");
	sbuf_append_str(out, "Content-Transfer-Encoding: 7bit\r\n\r\n");
	sbuf_appendf(out, "Your mailbox %s is now %d%% full.\r\n\r\n", address, threshold);
	if (q->limit_bytes > 0) {
		format_size(q->used_bytes, used, sizeof(used));
		format_size(q->limit_bytes, limit, sizeof(limit));
		sbuf_appendf(out, "Storage:  %s of %s\r\n", used, limit);
	}
	if (q->limit_messages > 0)
		sbuf_appendf(out, "Messages: %lld of %lld\r\n", (long long)q->used_messages,
		             (long long)q->limit_messages);
	sbuf_append_str(out,
	                "\r\nWhen the mailbox is full, new mail is refused and returned to its\r\n"
	                "senders. Delete messages you no longer need (and empty the Trash)\r\n"
	                "to make room.\r\n");
}
