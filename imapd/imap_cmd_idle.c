/*
 * imap_cmd_idle.c: IDLE (RFC 2177, RFC 9051 6.3.13): the session waits
 * for the client's DONE, the notification of a change to the selected
 * folder (imap_notify.h: another session, sluice-lmtpd, another host), the
 * server's shutdown, or its own timers: a "* OK Still here" every
 * imapd_idle_keepalive for NAT boxes, and the autologout after
 * imapd_idle_timeout counted from the start of each IDLE (clients re-issue
 * IDLE every 29 minutes, RFC 2177 3). It holds no database connection while
 * it waits; when notifications do not flow it polls every few seconds.
 */
#include "imap_commands.h"

#include "imap_notify.h"
#include "imap_view.h"
#include "iostream.h"
#include "log.h"
#include "server.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <strings.h>

/* How often to look for changes while the notification connection is down. */
#define IDLE_POLL_MS 2000

void imap_cmd_idle(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	int64_t start = monotonic_ms(), last_out = start;
	int efd = imap_notify_fd(sess->d->notify, sess->sub);
	const struct imapd_settings *set = &sess->d->set;

	(void)args;
	if (nargs != 0) {
		imap_tagged(sess, "BAD IDLE takes no arguments");
		return;
	}
	imap_write(sess, "+ idling\r\n", 10);
	for (;;) {
		struct pollfd pfd[3];
		int64_t now, wait;
		int n = 0, r;

		if (sess->view != NULL) {
			imap_view_sync(sess, true, efd < 0 || !imap_notify_healthy(sess->d->notify));
			if (sess->view->deleted) {
				imap_untagged(sess, "BYE [UNAVAILABLE] The selected mailbox was deleted");
				sess->state = IMAP_STATE_LOGOUT;
				sess->tag = NULL;
				return;
			}
		}
		if (iostream_flush(sess->s) != IOSTREAM_OK) {
			sess->state = IMAP_STATE_LOGOUT;
			sess->tag = NULL;
			return;
		}
		if (iostream_pending(sess->s) == 0) {
			now = monotonic_ms();
			if (now - start >= set->idle_timeout_ms) {
				/* RFC 3501 5.4: the autologout timer */
				imap_untagged(sess, "BYE Autologout; idle for too long");
				sess->state = IMAP_STATE_LOGOUT;
				sess->tag = NULL;
				return;
			}
			wait = start + set->idle_timeout_ms - now;
			if (last_out + set->idle_keepalive_ms - now < wait)
				wait = last_out + set->idle_keepalive_ms - now;
			if ((efd < 0 || !imap_notify_healthy(sess->d->notify)) && wait > IDLE_POLL_MS)
				wait = IDLE_POLL_MS;
			pfd[n].fd = iostream_fd(sess->s);
			pfd[n++].events = POLLIN;
			pfd[n].fd = server_stop_fd(sess->d->server);
			pfd[n++].events = POLLIN;
			if (efd >= 0) {
				pfd[n].fd = efd;
				pfd[n++].events = POLLIN;
			}
			r = poll(pfd, (nfds_t)n, wait < 0 ? 0 : (int)wait);
			if (r < 0 && errno != EINTR) {
				log_error("IDLE: poll: %s", strerror(errno));
				sess->state = IMAP_STATE_LOGOUT;
				sess->tag = NULL;
				return;
			}
			if (r > 0 && pfd[1].revents != 0) {
				imap_untagged(sess, "BYE [UNAVAILABLE] Server shutting down");
				sess->state = IMAP_STATE_LOGOUT;
				sess->tag = NULL;
				return;
			}
			if (efd >= 0 && r > 0 && pfd[2].revents != 0)
				imap_notify_fd_drain(sess->sub);
			if (r <= 0 || pfd[0].revents == 0) {
				if (monotonic_ms() - last_out >= set->idle_keepalive_ms) {
					imap_untagged(sess, "OK Still here");
					last_out = monotonic_ms();
				}
				continue;
			}
		}
		{
			const char *line;
			size_t len;
			int rc = imap_read_continuation(sess, &line, &len);

			if (rc == -1) {
				sess->tag = NULL;
				return;
			}
			/* RFC 2177 3: the only thing a client may send is DONE */
			if (rc == 0 && len == 4 && strncasecmp(line, "DONE", 4) == 0)
				imap_tagged(sess, "OK IDLE terminated");
			else
				imap_tagged(sess, "BAD Expected DONE");
			return;
		}
	}
}
