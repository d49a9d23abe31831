/*
 * qmgr_main.c: sluice-qmgr, the queue manager: it delivers what sluice-smtpd
 * and sluice-sendmail queue.
 *
 * Usage: sluice-qmgr [-c sluice.conf] [-f]. Creates the queue folders (owned
 * by run_user), takes the queue's lock (one qmgr per queue), drops
 * privileges, and then runs: the main thread waits on inotify (incoming/
 * and maildrop/), the retry timers, signals and wake-ups from the delivery
 * threads; a pickup thread converts maildrop/ files; qmgr_lmtp_connections
 * delivery threads deliver (qmgr_schedule.c). New mail is seen the moment
 * its file is renamed into incoming/, not by polling; a slow rescan
 * (qmgr_rescan_interval) only covers lost inotify events. SIGTERM: threads
 * finish their message and the process exits; SIGHUP: settings are
 * reloaded (all but queue_directory and qmgr_lmtp_connections).
 */
#include "config.h"
#include "daemon.h"
#include "db.h"
#include "log.h"
#include "qmgr.h"
#include "queue_dir.h"
#include "server.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* tmp/ files older than this are from writers that died; bounce logs without a message go too. */
#define JANITOR_INTERVAL_MS (3600 * 1000)
#define TMP_MAX_AGE (24 * 3600)

static char *qualified_or(const char *name, const char *domain)
{
	if (strchr(name, '@') != NULL)
		return xstrdup(name);
	return xasprintf("%s@%s", name, domain);
}

int qmgr_settings_load(struct qmgr_settings *set, const struct config *cfg, const char **error_r)
{
	char host[HOST_NAME_MAX + 1] = "localhost";
	const char *h = config_str(cfg, "qmgr_hostname");

	memset(set, 0, sizeof(*set));
	if (h[0] == '\0') {
		if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		h = host;
	}
	if (config_duration_ms(cfg, "qmgr_max_retry") <
	    config_duration_ms(cfg, "qmgr_first_retry")) {
		*error_r = errorf("%s:%u: qmgr_max_retry is below qmgr_first_retry",
		                  config_file(cfg) != NULL ? config_file(cfg) : "defaults",
		                  config_line(cfg, "qmgr_max_retry"));
		return -1;
	}
	set->queue_dir = xstrdup(config_str(cfg, "queue_directory"));
	set->hostname = xstrdup(h);
	set->lmtp_socket = xstrdup(config_str(cfg, "qmgr_lmtp_socket"));
	set->sendmail_domain = xstrdup(config_str(cfg, "sendmail_domain")[0] != '\0'
	                                   ? config_str(cfg, "sendmail_domain")
	                                   : set->hostname);
	set->postmaster = qualified_or(config_str(cfg, "qmgr_postmaster"), set->sendmail_domain);
	set->delimiters = xstrdup(config_str(cfg, "recipient_delimiter"));
	set->lmtp_connections = (unsigned int)config_int(cfg, "qmgr_lmtp_connections");
	set->lmtp_max_reuse = (unsigned int)config_int(cfg, "qmgr_lmtp_max_reuse");
	set->lmtp_recipient_limit = (unsigned int)config_int(cfg, "qmgr_lmtp_recipient_limit");
	set->active_limit = (unsigned int)config_int(cfg, "qmgr_active_limit");
	set->sendmail_max_recipients = (unsigned int)config_int(cfg, "sendmail_max_recipients");
	set->lmtp_connect_timeout_ms = config_duration_ms(cfg, "qmgr_lmtp_connect_timeout");
	set->lmtp_timeout_ms = config_duration_ms(cfg, "qmgr_lmtp_timeout");
	set->lmtp_data_timeout_ms = config_duration_ms(cfg, "qmgr_lmtp_data_timeout");
	set->lmtp_idle_timeout_ms = config_duration_ms(cfg, "qmgr_lmtp_idle_timeout");
	set->first_retry_ms = config_duration_ms(cfg, "qmgr_first_retry");
	set->max_retry_ms = config_duration_ms(cfg, "qmgr_max_retry");
	set->queue_lifetime_ms = config_duration_ms(cfg, "qmgr_queue_lifetime");
	set->bounce_lifetime_ms = config_duration_ms(cfg, "qmgr_bounce_lifetime");
	set->delay_warning_ms = config_duration_ms(cfg, "qmgr_delay_warning_time");
	set->rescan_interval_ms = config_duration_ms(cfg, "qmgr_rescan_interval");
	set->bounce_size_limit = (uint64_t)config_size(cfg, "qmgr_bounce_size_limit");
	set->sendmail_max_size = (uint64_t)config_size(cfg, "sendmail_max_message_size");
	return 0;
}

void qmgr_settings_free(struct qmgr_settings *set)
{
	free(set->queue_dir);
	free(set->hostname);
	free(set->lmtp_socket);
	free(set->postmaster);
	free(set->sendmail_domain);
	free(set->delimiters);
	memset(set, 0, sizeof(*set));
}

unsigned int qmgr_settings_copy(struct qmgr *q, struct qmgr_settings *dst)
{
	unsigned int gen;

	pthread_mutex_lock(&q->settings_lock);
	*dst = q->set;
	dst->queue_dir = xstrdup(q->set.queue_dir);
	dst->hostname = xstrdup(q->set.hostname);
	dst->lmtp_socket = xstrdup(q->set.lmtp_socket);
	dst->postmaster = xstrdup(q->set.postmaster);
	dst->sendmail_domain = xstrdup(q->set.sendmail_domain);
	dst->delimiters = xstrdup(q->set.delimiters);
	gen = q->generation;
	pthread_mutex_unlock(&q->settings_lock);
	return gen;
}

unsigned int qmgr_settings_generation(struct qmgr *q)
{
	unsigned int gen;

	pthread_mutex_lock(&q->settings_lock);
	gen = q->generation;
	pthread_mutex_unlock(&q->settings_lock);
	return gen;
}

/* The pickup thread: runs qmgr_pickup_run() whenever asked, one round at a time. */
struct pickup {
	struct qmgr *q;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool requested, stop;
};

static void *pickup_thread(void *arg)
{
	struct pickup *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->requested && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stop)
			break;
		p->requested = false;
		pthread_mutex_unlock(&p->lock);
		qmgr_pickup_run(p->q);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void pickup_request(struct pickup *p)
{
	pthread_mutex_lock(&p->lock);
	p->requested = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/* Hourly: tmp/ files of writers that died, bounce logs whose message is gone. */
static void janitor(const char *queue_dir)
{
	time_t now = time(NULL);
	const char *error;
	struct queue_id_list list;
	char *dir_path = queue_path(queue_dir, QUEUE_SUB_BOUNCE, NULL);
	DIR *dir;
	struct dirent *de;

	if (queue_list(queue_dir, QUEUE_SUB_TMP, &list, &error) == 0) {
		for (size_t i = 0; i < list.count; i++) {
			char *p = queue_path(queue_dir, QUEUE_SUB_TMP, list.ids[i]);
			struct stat st;
			if (stat(p, &st) == 0 && st.st_mtime < now - TMP_MAX_AGE) {
				log_info("removing stale %s", p);
				unlink(p);
			}
			free(p);
		}
		queue_id_list_free(&list);
	}
	dir = opendir(dir_path);
	while (dir != NULL && (de = readdir(dir)) != NULL) {
		char id[QUEUE_ID_BUFSZ];
		enum queue_sub sub;
		struct stat st;
		char *p;

		if (strlen(de->d_name) != QUEUE_ID_LEN + 4 ||
		    strcmp(de->d_name + QUEUE_ID_LEN, ".log") != 0)
			continue;
		memcpy(id, de->d_name, QUEUE_ID_LEN);
		id[QUEUE_ID_LEN] = '\0';
		p = xasprintf("%s/%s", dir_path, de->d_name);
		if (stat(p, &st) == 0 && st.st_mtime < now - 3600 &&
		    queue_locate(queue_dir, id, &sub, &error) == 1)
			unlink(p);
		free(p);
	}
	if (dir != NULL)
		closedir(dir);
	free(dir_path);
}

static void reload(struct qmgr *q, const char *conf_path)
{
	struct config *cfg;
	struct qmgr_settings set;
	const char *error;

	if (config_load(conf_path, 0, &cfg, &error) < 0 ||
	    qmgr_settings_load(&set, cfg, &error) < 0) {
		log_error("reload: %s; keeping the running settings", error);
		if (cfg != NULL)
			config_free(&cfg);
		return;
	}
	config_free(&cfg);
	pthread_mutex_lock(&q->settings_lock);
	if (strcmp(set.queue_dir, q->set.queue_dir) != 0) {
		log_warn("reload: queue_directory changes only at restart");
		free(set.queue_dir);
		set.queue_dir = xstrdup(q->set.queue_dir);
	}
	if (set.lmtp_connections != q->set.lmtp_connections)
		log_warn("reload: qmgr_lmtp_connections changes only at restart");
	qmgr_settings_free(&q->set);
	q->set = set;
	q->generation++;
	pthread_mutex_unlock(&q->settings_lock);
	log_info("reloaded %s", conf_path);
}

static int add_watch(int ifd, const char *queue_dir, enum queue_sub sub)
{
	char *path = queue_path(queue_dir, sub, NULL);
	int wd = inotify_add_watch(ifd, path, IN_MOVED_TO | IN_ONLYDIR);

	if (wd < 0)
		log_warn("inotify on %s: %s; falling back to rescans", path, strerror(errno));
	free(path);
	return wd;
}

static void lock_queue(const char *queue_dir, uid_t uid, gid_t gid)
{
	char *path = xasprintf("%s/qmgr.lock", queue_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	char pid[32];

	if (fd < 0)
		log_fatal(73, "open %s: %s", path, strerror(errno)); /* EX_CANTCREAT */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		log_fatal(75, "%s: another sluice-qmgr runs on this queue", path); /* EX_TEMPFAIL */
	if (uid != (uid_t)-1 && geteuid() == 0 && fchown(fd, uid, gid) < 0)
		log_fatal(71, "chown %s: %s", path, strerror(errno));
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, strlen(pid), 0) < 0)
		log_warn("%s: cannot write the pid", path);
	free(path);
	/* fd stays open (and locked) for the life of the process. */
}

int main(int argc, char **argv)
{
	const char *conf_path, *error = NULL;
	struct config *cfg;
	struct qmgr q = {0};
	struct pickup pickup = {0};
	struct db_pool_settings db_set;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int ifd, sfd, wd_incoming, wd_maildrop;
	sigset_t mask;
	int64_t next_rescan, next_janitor, next_timer;
	const char *run_user;

	cfg = daemon_start("sluice-qmgr", argc, argv, &conf_path);
	pthread_mutex_init(&q.settings_lock, NULL);
	if (qmgr_settings_load(&q.set, cfg, &error) < 0)
		log_fatal(78, "%s", error);

	run_user = config_str(cfg, "run_user");
	if (run_user[0] != '\0' && geteuid() == 0) {
		struct passwd *pw = getpwnam(run_user);
		if (pw == NULL)
			log_fatal(67, "run_user %s: no such user", run_user); /* EX_NOUSER */
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (queue_dirs_init(q.set.queue_dir, uid, gid, &error) < 0)
		log_fatal(73, "%s", error);
	lock_queue(q.set.queue_dir, uid, gid);
	if (server_drop_privileges(run_user, &error) < 0)
		log_fatal(71, "%s", error);

	/* Signals arrive through a signalfd; threads inherit the blocked mask. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		log_fatal(71, "signalfd: %s", strerror(errno));

	db_pool_settings_from_config(&db_set, cfg, "qmgr");
	q.pool = db_pool_create(&db_set);
	config_free(&cfg);

	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd < 0)
		log_warn("inotify: %s; falling back to rescans", strerror(errno));
	wd_incoming = ifd >= 0 ? add_watch(ifd, q.set.queue_dir, QUEUE_SUB_INCOMING) : -1;
	wd_maildrop = ifd >= 0 ? add_watch(ifd, q.set.queue_dir, QUEUE_SUB_MAILDROP) : -1;

	q.sched = qmgr_sched_create(&q);
	qmgr_sched_load(q.sched);
	qmgr_sched_start(q.sched);
	pickup.q = &q;
	pthread_mutex_init(&pickup.lock, NULL);
	pthread_cond_init(&pickup.cond, NULL);
	pickup.requested = true;
	if (pthread_create(&pickup.thread, NULL, pickup_thread, &pickup) != 0)
		log_fatal(71, "pthread_create failed");
	log_info("ready: queue %s, %u LMTP connections to %s", q.set.queue_dir,
	         q.set.lmtp_connections, q.set.lmtp_socket);
	janitor(q.set.queue_dir);

	next_rescan = monotonic_ms() + q.set.rescan_interval_ms;
	next_janitor = monotonic_ms() + JANITOR_INTERVAL_MS;
	next_timer = qmgr_sched_timers(q.sched);
	for (;;) {
		struct pollfd pfd[3] = {
		    {.fd = sfd, .events = POLLIN},
		    {.fd = qmgr_sched_wake_fd(q.sched), .events = POLLIN},
		    {.fd = ifd, .events = POLLIN},
		};
		int64_t now = monotonic_ms(), wake = next_rescan;
		int timeout;

		if (next_timer < wake)
			wake = next_timer;
		if (next_janitor < wake)
			wake = next_janitor;
		timeout = wake <= now ? 0 : wake - now > 3600000 ? 3600000 : (int)(wake - now);
		if (poll(pfd, ifd >= 0 ? 3 : 2, timeout) < 0 && errno != EINTR)
			log_fatal(71, "poll: %s", strerror(errno));

		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			bool stop = false;
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGHUP)
					reload(&q, conf_path);
				else
					stop = true;
			}
			if (stop)
				break;
		}
		if (ifd >= 0 && (pfd[2].revents & POLLIN)) {
			char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
			ssize_t n;
			while ((n = read(ifd, buf, sizeof(buf))) > 0) {
				for (char *p = buf; p < buf + n;) {
					const struct inotify_event *ev =
					    (const struct inotify_event *)p;
					if (ev->mask & IN_Q_OVERFLOW) {
						qmgr_sched_scan_incoming(q.sched);
						pickup_request(&pickup);
					} else if (ev->wd == wd_incoming && ev->len > 0) {
						qmgr_sched_incoming(q.sched, ev->name);
					} else if (ev->wd == wd_maildrop && ev->len > 0) {
						pickup_request(&pickup);
					}
					p += sizeof(*ev) + ev->len;
				}
			}
		}
		if (pfd[1].revents & POLLIN) {
			if (qmgr_sched_woken(q.sched))
				qmgr_sched_scan_incoming(q.sched);
		}
		now = monotonic_ms();
		if (now >= next_rescan) {
			qmgr_sched_scan_incoming(q.sched);
			pickup_request(&pickup);
			pthread_mutex_lock(&q.settings_lock);
			next_rescan = now + q.set.rescan_interval_ms;
			pthread_mutex_unlock(&q.settings_lock);
		}
		if (now >= next_janitor) {
			janitor(q.set.queue_dir);
			next_janitor = now + JANITOR_INTERVAL_MS;
		}
		next_timer = qmgr_sched_timers(q.sched);
	}

	log_info("stopping: delivery threads finish their message");
	q.stopping = 1;
	pthread_mutex_lock(&pickup.lock);
	pickup.stop = true;
	pthread_cond_signal(&pickup.cond);
	pthread_mutex_unlock(&pickup.lock);
	pthread_join(pickup.thread, NULL);
	qmgr_sched_destroy(&q.sched);
	if (ifd >= 0)
		close(ifd);
	close(sfd);
	db_pool_destroy(&q.pool);
	qmgr_settings_free(&q.set);
	pthread_mutex_destroy(&q.settings_lock);
	log_info("stopped");
	return 0;
}
