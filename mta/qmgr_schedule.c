/*
 * qmgr_schedule.c: what sluice-qmgr delivers when, and the threads that do it.
 *
 * The ready list holds messages in active/ waiting for a delivery thread;
 * the retry heap holds messages in deferred/ ordered by next attempt. The
 * main thread feeds both: files appearing in incoming/ (inotify) are moved
 * to active/ and made ready at once, and due heap entries are moved back
 * from deferred/. Each of qmgr_lmtp_connections threads owns one LMTP
 * connection, reused across messages and closed when idle. At most
 * qmgr_active_limit messages are in active/ at once; beyond that incoming/
 * waits (a backlog) until the threads drain to half. Every queue move is a
 * rename that fails when someone else (sluice-queue, a flush) moved the file
 * first, so stale entries are harmless. Owns the lists, under one mutex.
 */
#include "lmtp_client.h"
#include "log.h"
#include "qmgr.h"
#include "queue_dir.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct ready_item {
	char id[QUEUE_ID_BUFSZ];
	bool from_deferred;
};

struct heap_item {
	int64_t due; /* Unix seconds */
	char id[QUEUE_ID_BUFSZ];
};

struct qmgr_sched {
	struct qmgr *q;
	pthread_mutex_t lock;
	pthread_cond_t cond;      /* ready items or stop, for the delivery threads */
	struct ready_item *ready; /* a ring */
	size_t rhead, rcount, rcap;
	struct heap_item *heap; /* a binary min-heap on due */
	size_t hcount, hcap;
	unsigned int inflight;
	unsigned int active_limit;
	bool backlog; /* incoming/ holds files not taken because of the limit */
	bool drained; /* the backlog may be taken now: tell the main loop */
	bool stop;
	int wake_fd;
	pthread_t *threads;
	unsigned int nthreads;
};

static void ready_push(struct qmgr_sched *s, const char *id, bool from_deferred)
{
	if (s->rcount == s->rcap) {
		size_t ncap = s->rcap == 0 ? 256 : s->rcap * 2;
		struct ready_item *n = xcalloc(ncap, sizeof(*n));
		for (size_t i = 0; i < s->rcount; i++)
			n[i] = s->ready[(s->rhead + i) % s->rcap];
		free(s->ready);
		s->ready = n;
		s->rcap = ncap;
		s->rhead = 0;
	}
	struct ready_item *it = &s->ready[(s->rhead + s->rcount) % s->rcap];
	memcpy(it->id, id, QUEUE_ID_BUFSZ);
	it->from_deferred = from_deferred;
	s->rcount++;
	pthread_cond_signal(&s->cond);
}

static struct ready_item ready_pop(struct qmgr_sched *s)
{
	struct ready_item it = s->ready[s->rhead];

	s->rhead = (s->rhead + 1) % s->rcap;
	s->rcount--;
	return it;
}

static void heap_swap(struct heap_item *a, struct heap_item *b)
{
	struct heap_item t = *a;
	*a = *b;
	*b = t;
}

static void heap_push(struct qmgr_sched *s, int64_t due, const char *id)
{
	size_t i;

	if (s->hcount == s->hcap) {
		s->hcap = s->hcap == 0 ? 256 : s->hcap * 2;
		s->heap = xrealloc(s->heap, s->hcap * sizeof(*s->heap));
	}
	i = s->hcount++;
	s->heap[i].due = due;
	memcpy(s->heap[i].id, id, QUEUE_ID_BUFSZ);
	while (i > 0 && s->heap[(i - 1) / 2].due > s->heap[i].due) {
		heap_swap(&s->heap[(i - 1) / 2], &s->heap[i]);
		i = (i - 1) / 2;
	}
}

static struct heap_item heap_pop(struct qmgr_sched *s)
{
	struct heap_item top = s->heap[0];
	size_t i = 0;

	s->heap[0] = s->heap[--s->hcount];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < s->hcount && s->heap[l].due < s->heap[m].due)
			m = l;
		if (r < s->hcount && s->heap[r].due < s->heap[m].due)
			m = r;
		if (m == i)
			break;
		heap_swap(&s->heap[i], &s->heap[m]);
		i = m;
	}
	return top;
}

static void wake_main(struct qmgr_sched *s)
{
	uint64_t one = 1;
	ssize_t r = write(s->wake_fd, &one, sizeof(one));
	(void)r; /* a full counter already means "wake up" */
}

struct qmgr_sched *qmgr_sched_create(struct qmgr *q)
{
	struct qmgr_sched *s = xcalloc(1, sizeof(*s));
	pthread_condattr_t attr;

	s->q = q;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &attr);
	pthread_condattr_destroy(&attr);
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->wake_fd < 0)
		log_fatal(71, "eventfd: %s", strerror(errno));
	pthread_mutex_lock(&q->settings_lock);
	s->active_limit = q->set.active_limit;
	pthread_mutex_unlock(&q->settings_lock);
	return s;
}

int qmgr_sched_wake_fd(const struct qmgr_sched *s)
{
	return s->wake_fd;
}

bool qmgr_sched_woken(struct qmgr_sched *s)
{
	uint64_t v;
	bool drained;
	ssize_t r = read(s->wake_fd, &v, sizeof(v));

	(void)r;
	pthread_mutex_lock(&s->lock);
	drained = s->drained;
	s->drained = false;
	pthread_mutex_unlock(&s->lock);
	return drained;
}

/* Take incoming/<id> into active/ when the limit allows; lock held. */
static void take_incoming(struct qmgr_sched *s, const char *queue_dir, const char *id)
{
	if (s->rcount + s->inflight >= s->active_limit) {
		s->backlog = true;
		return;
	}
	if (queue_move(queue_dir, id, QUEUE_SUB_INCOMING, QUEUE_SUB_ACTIVE) < 0) {
		if (errno != ENOENT)
			log_error("%s: move to active/: %s", id, strerror(errno));
		return;
	}
	ready_push(s, id, false);
}

void qmgr_sched_incoming(struct qmgr_sched *s, const char *name)
{
	if (!queue_id_valid(name))
		return;
	pthread_mutex_lock(&s->lock);
	take_incoming(s, s->q->set.queue_dir, name);
	pthread_mutex_unlock(&s->lock);
}

void qmgr_sched_scan_incoming(struct qmgr_sched *s)
{
	struct queue_id_list list;
	const char *error;

	if (queue_list(s->q->set.queue_dir, QUEUE_SUB_INCOMING, &list, &error) < 0) {
		log_error("%s", error);
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->backlog = false;
	for (size_t i = 0; i < list.count; i++)
		take_incoming(s, s->q->set.queue_dir, list.ids[i]);
	pthread_mutex_unlock(&s->lock);
	queue_id_list_free(&list);
}

void qmgr_sched_load(struct qmgr_sched *s)
{
	const char *queue_dir = s->q->set.queue_dir, *error;
	struct queue_id_list list;
	size_t deferred = 0;

	/* active/ at start-up: left by a qmgr that stopped or crashed; deliver now. */
	if (queue_list(queue_dir, QUEUE_SUB_ACTIVE, &list, &error) < 0)
		log_fatal(71, "%s", error);
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < list.count; i++)
		ready_push(s, list.ids[i], false);
	pthread_mutex_unlock(&s->lock);
	if (list.count > 0)
		log_info("%zu messages left in active/ by an earlier run: delivering them",
		         list.count);
	queue_id_list_free(&list);

	if (queue_list(queue_dir, QUEUE_SUB_DEFERRED, &list, &error) < 0)
		log_fatal(71, "%s", error);
	for (size_t i = 0; i < list.count; i++) {
		char *path = queue_path(queue_dir, QUEUE_SUB_DEFERRED, list.ids[i]);
		struct queue_msg *msg;
		int64_t due = 0;

		/* A file that does not parse is due now: delivery moves it to hold/. */
		if (queue_msg_open(path, false, &msg, &error) == 0) {
			due = msg->next_attempt;
			queue_msg_free(&msg);
		}
		free(path);
		pthread_mutex_lock(&s->lock);
		heap_push(s, due, list.ids[i]);
		pthread_mutex_unlock(&s->lock);
		deferred++;
	}
	queue_id_list_free(&list);
	if (deferred > 0)
		log_info("%zu deferred messages scheduled", deferred);
	qmgr_sched_scan_incoming(s);
}

int64_t qmgr_sched_timers(struct qmgr_sched *s)
{
	const char *queue_dir = s->q->set.queue_dir;
	int64_t now = (int64_t)time(NULL), next = INT64_MAX;

	pthread_mutex_lock(&s->lock);
	while (s->hcount > 0 && s->heap[0].due <= now) {
		if (s->rcount + s->inflight >= s->active_limit) {
			/* Full: the threads wake us when there is room again. */
			s->backlog = true;
			pthread_mutex_unlock(&s->lock);
			return INT64_MAX;
		}
		struct heap_item it = heap_pop(s);
		if (queue_move(queue_dir, it.id, QUEUE_SUB_DEFERRED, QUEUE_SUB_ACTIVE) < 0) {
			if (errno != ENOENT)
				log_error("%s: move to active/: %s", it.id, strerror(errno));
			continue;
		}
		ready_push(s, it.id, true);
	}
	if (s->hcount > 0)
		next = monotonic_ms() + (s->heap[0].due - now) * 1000;
	pthread_mutex_unlock(&s->lock);
	return next;
}

struct worker {
	struct qmgr_sched *s;
	unsigned int number;
};

static struct lmtp_client *worker_client(const struct qmgr_settings *set)
{
	struct lmtp_client_settings lset = {
	    .socket_path = set->lmtp_socket,
	    .lhlo_name = set->hostname,
	    .connect_timeout_ms = (int)set->lmtp_connect_timeout_ms,
	    .timeout_ms = (int)set->lmtp_timeout_ms,
	    .data_timeout_ms = (int)set->lmtp_data_timeout_ms,
	};
	return lmtp_client_create(&lset);
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct qmgr_sched *s = w->s;
	struct qmgr_settings set;
	unsigned int generation = qmgr_settings_copy(s->q, &set);
	struct lmtp_client *lmtp = worker_client(&set);

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (s->rcount == 0 && !s->stop) {
			if (lmtp_client_connected(lmtp)) {
				struct timespec ts;
				int64_t deadline = monotonic_ms() + set.lmtp_idle_timeout_ms;
				ts.tv_sec = deadline / 1000;
				ts.tv_nsec = (deadline % 1000) * 1000000;
				if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT &&
				    s->rcount == 0) {
					/* Idle too long: let sluice-lmtpd free the session. */
					pthread_mutex_unlock(&s->lock);
					lmtp_client_disconnect(lmtp, true);
					pthread_mutex_lock(&s->lock);
				}
			} else {
				pthread_cond_wait(&s->cond, &s->lock);
			}
		}
		if (s->stop)
			break;
		struct ready_item it = ready_pop(s);
		s->inflight++;
		pthread_mutex_unlock(&s->lock);

		if (qmgr_settings_generation(s->q) != generation) {
			qmgr_settings_free(&set);
			generation = qmgr_settings_copy(s->q, &set);
			lmtp_client_destroy(&lmtp);
			lmtp = worker_client(&set);
		}
		int64_t next = 0;
		enum qmgr_outcome outcome =
		    qmgr_deliver(s->q, &set, lmtp, it.id, it.from_deferred, &next);
		if (lmtp_client_transactions(lmtp) >= set.lmtp_max_reuse ||
		    set.lmtp_idle_timeout_ms == 0)
			lmtp_client_disconnect(lmtp, true);

		pthread_mutex_lock(&s->lock);
		s->inflight--;
		if (outcome == QMGR_DEFERRED) {
			bool earliest = s->hcount == 0 || next < s->heap[0].due;
			heap_push(s, next, it.id);
			if (earliest)
				wake_main(s);
		}
		if (s->backlog && s->rcount + s->inflight < s->active_limit / 2) {
			s->backlog = false;
			s->drained = true;
			wake_main(s);
		}
	}
	pthread_mutex_unlock(&s->lock);
	lmtp_client_destroy(&lmtp);
	qmgr_settings_free(&set);
	free(w);
	return NULL;
}

void qmgr_sched_start(struct qmgr_sched *s)
{
	unsigned int n;

	pthread_mutex_lock(&s->q->settings_lock);
	n = s->q->set.lmtp_connections;
	pthread_mutex_unlock(&s->q->settings_lock);
	s->threads = xcalloc(n, sizeof(*s->threads));
	for (unsigned int i = 0; i < n; i++) {
		struct worker *w = xcalloc(1, sizeof(*w));
		w->s = s;
		w->number = i;
		int err = pthread_create(&s->threads[i], NULL, worker_run, w);
		if (err != 0)
			log_fatal(71, "pthread_create: %s", strerror(err));
		s->nthreads++;
	}
}

void qmgr_sched_destroy(struct qmgr_sched **sp)
{
	struct qmgr_sched *s = *sp;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	for (unsigned int i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	free(s->threads);
	free(s->ready);
	free(s->heap);
	close(s->wake_fd);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
	*sp = NULL;
}
