/*
 * imap_notify.c: one LISTEN connection per process, fanned out to the
 * sessions (see imap_notify.h).
 *
 * Sessions only take the lock to (un)subscribe, to change the folder they
 * watch, and to make their eventfd; the listener thread takes it to find
 * whom a notification concerns. Channels are LISTENed and UNLISTENed by
 * the thread alone, outside the lock: sessions queue the mailbox and poke
 * the thread through a pipe. After a reconnect every channel is LISTENed
 * again and every session told to look, since notifications sent while we
 * were away are lost. Channel names are built from integer ids only.
 */
#include "imap_notify.h"

#include "db.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define NBUCKETS 1024
/* An idle LISTEN connection is checked with a query this often. */
#define KEEPALIVE_MS 60000
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000
#define CHANNEL_PREFIX "sluice_mailbox_"

struct chan;

struct imap_notify_sub {
	int64_t mailbox_id;
	int64_t folder_id; /* under the lock */
	atomic_bool changed;
	int efd;           /* under the lock; -1 until asked for */
	struct imap_notify_sub *next;
	struct chan *chan;
};

struct chan {
	int64_t id;
	unsigned int refs;
	bool listening; /* a LISTEN is in effect on the connection */
	bool queued;    /* in the thread's to-do list */
	struct imap_notify_sub *subs;
	struct chan *next;
};

struct imap_notify {
	pthread_mutex_t lock;
	struct chan *buckets[NBUCKETS];
	int64_t *todo;
	size_t ntodo, todo_cap;
	int wake[2];
	atomic_bool stop;
	atomic_bool healthy;
	pthread_t thread;
	struct db_pool *pool;
};

static struct chan **bucket(struct imap_notify *n, int64_t id)
{
	return &n->buckets[(uint64_t)id % NBUCKETS];
}

static struct chan *chan_find(struct imap_notify *n, int64_t id)
{
	struct chan *c;

	for (c = *bucket(n, id); c != NULL && c->id != id; c = c->next)
		;
	return c;
}

static void chan_remove(struct imap_notify *n, struct chan *c)
{
	struct chan **cp;

	for (cp = bucket(n, c->id); *cp != NULL; cp = &(*cp)->next) {
		if (*cp == c) {
			*cp = c->next;
			free(c);
			return;
		}
	}
}

/* Under the lock: have the thread look at a channel. */
static void queue_chan(struct imap_notify *n, struct chan *c)
{
	if (c->queued)
		return;
	c->queued = true;
	if (n->ntodo == n->todo_cap) {
		n->todo_cap = n->todo_cap == 0 ? 16 : n->todo_cap * 2;
		n->todo = xrealloc(n->todo, n->todo_cap * sizeof(*n->todo));
	}
	n->todo[n->ntodo++] = c->id;
}

static void poke(struct imap_notify *n)
{
	char b = 1;

	if (write(n->wake[1], &b, 1) < 0 && errno != EAGAIN)
		log_warn("notify: wake pipe: %s", strerror(errno));
}

/* Under the lock: tell a session its folder may have changed. */
static void tell(struct imap_notify_sub *sub)
{
	uint64_t one = 1;

	atomic_store(&sub->changed, true);
	if (sub->efd >= 0 && write(sub->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("notify: eventfd: %s", strerror(errno));
}

/* Under the lock: every session with a folder selected. */
static void tell_all(struct imap_notify *n)
{
	for (size_t b = 0; b < NBUCKETS; b++) {
		for (struct chan *c = n->buckets[b]; c != NULL; c = c->next) {
			for (struct imap_notify_sub *s = c->subs; s != NULL; s = s->next) {
				if (s->folder_id != 0)
					tell(s);
			}
		}
	}
}

/* After a (re)connect: nothing is LISTENed; queue every wanted channel. */
static void requeue_all(struct imap_notify *n)
{
	pthread_mutex_lock(&n->lock);
	n->ntodo = 0;
	for (size_t b = 0; b < NBUCKETS; b++) {
		struct chan *c = n->buckets[b], *next;

		for (; c != NULL; c = next) {
			next = c->next;
			c->listening = false;
			c->queued = false;
			if (c->refs == 0)
				chan_remove(n, c);
			else
				queue_chan(n, c);
		}
	}
	pthread_mutex_unlock(&n->lock);
}

static int listen_cmd(struct db_conn *conn, const char *verb, int64_t id)
{
	char sql[64];
	const char *error;

	snprintf(sql, sizeof(sql), "%s " CHANNEL_PREFIX "%lld", verb, (long long)id);
	if (db_exec_simple(conn, sql, &error) != DB_OK) {
		log_warn("notify: %s: %s", sql, error);
		return -1;
	}
	return 0;
}

/* LISTEN and UNLISTEN what the sessions asked for. */
static int reconcile(struct imap_notify *n, struct db_conn *conn)
{
	int64_t *todo;
	size_t ntodo;

	pthread_mutex_lock(&n->lock);
	todo = n->todo;
	ntodo = n->ntodo;
	n->todo = NULL;
	n->ntodo = n->todo_cap = 0;
	pthread_mutex_unlock(&n->lock);
	for (size_t i = 0; i < ntodo; i++) {
		struct chan *c;
		bool want, is;

		pthread_mutex_lock(&n->lock);
		c = chan_find(n, todo[i]);
		if (c != NULL)
			c->queued = false;
		want = c != NULL && c->refs > 0;
		is = c != NULL && c->listening;
		pthread_mutex_unlock(&n->lock);
		if (c == NULL)
			continue;
		if (want != is && listen_cmd(conn, want ? "LISTEN" : "UNLISTEN", todo[i]) < 0) {
			free(todo);
			return -1;
		}
		pthread_mutex_lock(&n->lock);
		c = chan_find(n, todo[i]);
		if (c != NULL) {
			c->listening = want;
			/* changes made before the LISTEN took effect were not announced */
			if (want && !is) {
				for (struct imap_notify_sub *s = c->subs; s != NULL; s = s->next)
					tell(s);
			}
			if (c->refs == 0 && !c->listening && !c->queued)
				chan_remove(n, c);
			else if ((c->refs > 0) != c->listening)
				queue_chan(n, c);
		}
		pthread_mutex_unlock(&n->lock);
	}
	free(todo);
	return 0;
}

static void dispatch(struct imap_notify *n, PGconn *pg)
{
	PGnotify *note;

	while ((note = PQnotifies(pg)) != NULL) {
		size_t plen = strlen(CHANNEL_PREFIX);
		int64_t id = 0, folder = 0;

		if (strncmp(note->relname, CHANNEL_PREFIX, plen) == 0)
			id = strtoll(note->relname + plen, NULL, 10);
		if (note->extra != NULL)
			folder = strtoll(note->extra, NULL, 10);
		if (id > 0) {
			struct chan *c;

			pthread_mutex_lock(&n->lock);
			if ((c = chan_find(n, id)) != NULL) {
				for (struct imap_notify_sub *s = c->subs; s != NULL; s = s->next) {
					if (s->folder_id != 0 && (folder <= 0 || s->folder_id == folder))
						tell(s);
				}
			}
			pthread_mutex_unlock(&n->lock);
		}
		PQfreemem(note);
	}
}

static void drain_pipe(int fd)
{
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* The connection is unusable: every session must look for itself until it is back. */
static void lost(struct imap_notify *n, struct db_conn **conn)
{
	atomic_store(&n->healthy, false);
	pthread_mutex_lock(&n->lock);
	tell_all(n);
	pthread_mutex_unlock(&n->lock);
	db_release(conn);
}

static void *notify_thread(void *arg)
{
	struct imap_notify *n = arg;
	struct db_conn *conn = NULL;
	int64_t backoff = BACKOFF_MIN_MS, last_traffic = 0;
	bool logged_down = false;
	const char *error;

	while (!atomic_load(&n->stop)) {
		struct pollfd pfd[2];
		int timeout, r;

		if (conn == NULL) {
			conn = db_acquire(n->pool, &error);
			if (conn == NULL) {
				if (!logged_down)
					log_warn("notify: cannot LISTEN: %s", error);
				logged_down = true;
				pfd[0].fd = n->wake[0];
				pfd[0].events = POLLIN;
				poll(pfd, 1, (int)backoff);
				drain_pipe(n->wake[0]);
				backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			if (logged_down)
				log_info("notify: listening again");
			logged_down = false;
			backoff = BACKOFF_MIN_MS;
			last_traffic = monotonic_ms();
			requeue_all(n);
		}
		if (reconcile(n, conn) < 0) {
			lost(n, &conn);
			continue;
		}
		if (!atomic_load(&n->healthy)) {
			atomic_store(&n->healthy, true);
			/* what changed while we were away */
			pthread_mutex_lock(&n->lock);
			tell_all(n);
			pthread_mutex_unlock(&n->lock);
		}
		dispatch(n, db_pgconn(conn));
		pfd[0].fd = PQsocket(db_pgconn(conn));
		pfd[0].events = POLLIN;
		pfd[1].fd = n->wake[0];
		pfd[1].events = POLLIN;
		timeout = (int)(last_traffic + KEEPALIVE_MS - monotonic_ms());
		r = poll(pfd, 2, timeout < 0 ? 0 : timeout);
		if (r < 0 && errno != EINTR) {
			log_error("notify: poll: %s", strerror(errno));
			lost(n, &conn);
			continue;
		}
		if (pfd[1].revents != 0)
			drain_pipe(n->wake[0]);
		if (pfd[0].revents != 0) {
			last_traffic = monotonic_ms();
			if (!PQconsumeInput(db_pgconn(conn))) {
				log_warn("notify: connection lost: %s", PQerrorMessage(db_pgconn(conn)));
				lost(n, &conn);
				continue;
			}
			dispatch(n, db_pgconn(conn));
		} else if (r == 0) {
			/* a quiet connection may be a dead one */
			last_traffic = monotonic_ms();
			if (db_exec_simple(conn, "SELECT 1", &error) != DB_OK) {
				log_warn("notify: connection lost: %s", error);
				lost(n, &conn);
				continue;
			}
		}
	}
	db_release(&conn);
	return NULL;
}

int imap_notify_create(const struct db_pool_settings *set, struct imap_notify **n_r,
		       const char **error_r)
{
	struct imap_notify *n = xcalloc(1, sizeof(*n));
	struct db_pool_settings one = *set;

	one.size = 1;
	pthread_mutex_init(&n->lock, NULL);
	if (pipe2(n->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		*error_r = errorf("pipe: %s", strerror(errno));
		pthread_mutex_destroy(&n->lock);
		free(n);
		return -1;
	}
	n->pool = db_pool_create(&one);
	if (pthread_create(&n->thread, NULL, notify_thread, n) != 0) {
		*error_r = "cannot start the notification thread";
		db_pool_destroy(&n->pool);
		close(n->wake[0]);
		close(n->wake[1]);
		pthread_mutex_destroy(&n->lock);
		free(n);
		return -1;
	}
	*n_r = n;
	return 0;
}

void imap_notify_destroy(struct imap_notify **np)
{
	struct imap_notify *n = *np;

	if (n == NULL)
		return;
	*np = NULL;
	atomic_store(&n->stop, true);
	poke(n);
	pthread_join(n->thread, NULL);
	for (size_t b = 0; b < NBUCKETS; b++) {
		while (n->buckets[b] != NULL)
			chan_remove(n, n->buckets[b]);
	}
	free(n->todo);
	db_pool_destroy(&n->pool);
	close(n->wake[0]);
	close(n->wake[1]);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

struct imap_notify_sub *imap_notify_subscribe(struct imap_notify *n, int64_t mailbox_id)
{
	struct imap_notify_sub *sub = xcalloc(1, sizeof(*sub));
	struct chan *c;

	sub->mailbox_id = mailbox_id;
	sub->efd = -1;
	atomic_init(&sub->changed, true);
	pthread_mutex_lock(&n->lock);
	c = chan_find(n, mailbox_id);
	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		c->id = mailbox_id;
		c->next = *bucket(n, mailbox_id);
		*bucket(n, mailbox_id) = c;
	}
	c->refs++;
	sub->chan = c;
	sub->next = c->subs;
	c->subs = sub;
	if (!c->listening)
		queue_chan(n, c);
	pthread_mutex_unlock(&n->lock);
	poke(n);
	return sub;
}

void imap_notify_unsubscribe(struct imap_notify *n, struct imap_notify_sub **subp)
{
	struct imap_notify_sub *sub = *subp, **sp;
	struct chan *c;

	if (sub == NULL)
		return;
	*subp = NULL;
	pthread_mutex_lock(&n->lock);
	c = sub->chan;
	for (sp = &c->subs; *sp != NULL; sp = &(*sp)->next) {
		if (*sp == sub) {
			*sp = sub->next;
			break;
		}
	}
	c->refs--;
	if (c->refs == 0)
		queue_chan(n, c);
	pthread_mutex_unlock(&n->lock);
	poke(n);
	if (sub->efd >= 0)
		close(sub->efd);
	free(sub);
}

void imap_notify_watch(struct imap_notify *n, struct imap_notify_sub *sub, int64_t folder_id)
{
	if (sub == NULL)
		return;
	pthread_mutex_lock(&n->lock);
	sub->folder_id = folder_id;
	pthread_mutex_unlock(&n->lock);
	atomic_store(&sub->changed, true);
}

bool imap_notify_changed(struct imap_notify *n, struct imap_notify_sub *sub)
{
	bool changed;

	if (sub == NULL)
		return true;
	changed = atomic_exchange(&sub->changed, false);
	return changed || !atomic_load(&n->healthy);
}

bool imap_notify_healthy(struct imap_notify *n)
{
	return atomic_load(&n->healthy);
}

int imap_notify_fd(struct imap_notify *n, struct imap_notify_sub *sub)
{
	int fd;

	pthread_mutex_lock(&n->lock);
	if (sub->efd < 0) {
		sub->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (sub->efd < 0)
			log_warn("notify: eventfd: %s", strerror(errno));
	}
	fd = sub->efd;
	pthread_mutex_unlock(&n->lock);
	return fd;
}

void imap_notify_fd_drain(struct imap_notify_sub *sub)
{
	uint64_t v;

	if (sub->efd >= 0 && read(sub->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("notify: eventfd: %s", strerror(errno));
}
