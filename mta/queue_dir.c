/*
 * queue_dir.c: the queue directory's layout (see queue_dir.h): queue ids,
 * the subfolders with their owners and modes, locating, listing and moving
 * messages. Touches only names under queue_directory; never file contents.
 */
#include "queue_dir.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const sub_names[QUEUE_SUB_COUNT] = {
    "incoming", "active", "deferred", "hold", "tmp", "maildrop", "bounce",
};

static const char base36[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

const char *queue_sub_name(enum queue_sub sub)
{
	return sub_names[sub];
}

void queue_id_new(char *out)
{
	struct timespec ts;
	unsigned char rnd[6];
	uint64_t us;
	ssize_t got = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	for (int i = 9; i >= 0; i--) {
		out[i] = base36[us % 36];
		us /= 36;
	}
	while (got < (ssize_t)sizeof(rnd)) {
		ssize_t n = getrandom(rnd + got, sizeof(rnd) - (size_t)got, 0);
		if (n < 0 && errno != EINTR)
			log_panic("getrandom: %s", strerror(errno));
		if (n > 0)
			got += n;
	}
	for (int i = 0; i < 6; i++)
		out[10 + i] = base36[rnd[i] % 36];
	out[QUEUE_ID_LEN] = '\0';
}

bool queue_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i < QUEUE_ID_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	}
	return s[i] == '\0';
}

int64_t queue_id_time_us(const char *id)
{
	int64_t v = 0;

	for (int i = 0; i < 10; i++) {
		const char *p = strchr(base36, id[i]);
		v = v * 36 + (p != NULL ? p - base36 : 0);
	}
	return v;
}

char *queue_path(const char *queue_dir, enum queue_sub sub, const char *id)
{
	if (id == NULL)
		return xasprintf("%s/%s", queue_dir, sub_names[sub]);
	return xasprintf("%s/%s/%s", queue_dir, sub_names[sub], id);
}

static int ensure_dir(const char *path, mode_t mode, uid_t uid, gid_t gid, const char **error_r)
{
	struct stat st;

	if (mkdir(path, mode) < 0 && errno != EEXIST) {
		*error_r = errorf("mkdir %s: %s", path, strerror(errno));
		return -1;
	}
	if (stat(path, &st) < 0) {
		*error_r = errorf("stat %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		*error_r = errorf("%s is not a folder", path);
		return -1;
	}
	if (uid != (uid_t)-1 && geteuid() == 0 && (st.st_uid != uid || st.st_gid != gid) &&
	    chown(path, uid, gid) < 0) {
		*error_r = errorf("chown %s: %s", path, strerror(errno));
		return -1;
	}
	/* mkdir() applies the umask, and 1733's sticky bit needs chmod() anyway. */
	if ((st.st_mode & 07777) != mode && (st.st_uid == geteuid() || geteuid() == 0) &&
	    chmod(path, mode) < 0) {
		*error_r = errorf("chmod %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int queue_dirs_init(const char *queue_dir, uid_t uid, gid_t gid, const char **error_r)
{
	if (ensure_dir(queue_dir, 0755, uid, gid, error_r) < 0)
		return -1;
	for (int i = 0; i < QUEUE_SUB_COUNT; i++) {
		char *path = queue_path(queue_dir, (enum queue_sub)i, NULL);
		/* maildrop: writable by every local user, listable only by qmgr. */
		int r = ensure_dir(path, i == QUEUE_SUB_MAILDROP ? 01733 : 0700, uid, gid, error_r);

		free(path);
		if (r < 0)
			return -1;
	}
	return 0;
}

int queue_locate(const char *queue_dir, const char *id, enum queue_sub *sub_r, const char **error_r)
{
	if (!queue_id_valid(id)) {
		*error_r = "not a queue id";
		return 1;
	}
	for (int i = 0; i < QUEUE_SUB_MESSAGES; i++) {
		char *path = queue_path(queue_dir, (enum queue_sub)i, id);
		int r = access(path, F_OK), err = errno;

		free(path);
		if (r == 0) {
			*sub_r = (enum queue_sub)i;
			return 0;
		}
		if (err != ENOENT) {
			*error_r =
			    errorf("%s/%s/%s: %s", queue_dir, sub_names[i], id, strerror(err));
			return -1;
		}
	}
	*error_r = "no such message";
	return 1;
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

int queue_list(const char *queue_dir, enum queue_sub sub, struct queue_id_list *list_r,
               const char **error_r)
{
	char *path = queue_path(queue_dir, sub, NULL);
	DIR *dir = opendir(path);
	struct dirent *de;
	size_t cap = 0;

	list_r->ids = NULL;
	list_r->count = 0;
	if (dir == NULL) {
		*error_r = errorf("opendir %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	while ((de = readdir(dir)) != NULL) {
		if (!queue_id_valid(de->d_name))
			continue;
		if (list_r->count == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			list_r->ids = xrealloc(list_r->ids, cap * sizeof(*list_r->ids));
		}
		memcpy(list_r->ids[list_r->count++], de->d_name, QUEUE_ID_BUFSZ);
	}
	closedir(dir);
	if (list_r->count > 1)
		qsort(list_r->ids, list_r->count, sizeof(*list_r->ids), id_cmp);
	return 0;
}

void queue_id_list_free(struct queue_id_list *list)
{
	free(list->ids);
	list->ids = NULL;
	list->count = 0;
}

int queue_fsync_dir(const char *path, const char **error_r)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		*error_r = errorf("open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fsync(fd) < 0) {
		*error_r = errorf("fsync %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int queue_move(const char *queue_dir, const char *id, enum queue_sub from, enum queue_sub to)
{
	char *src = queue_path(queue_dir, from, id), *dst = queue_path(queue_dir, to, id);
	int r = renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE), err = errno;

	if (r < 0 && err == EINVAL) {
		/* A file system without RENAME_NOREPLACE: link() never replaces either. */
		r = link(src, dst);
		err = errno;
		if (r == 0 && unlink(src) < 0) {
			err = errno;
			unlink(dst);
			r = -1;
		}
	}
	free(src);
	free(dst);
	errno = err;
	return r;
}
