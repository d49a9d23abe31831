/*
 * lmtpd_sieve_global.c: the administrator's global Sieve scripts in
 * sluice-lmtpd: the "before" and "after" scripts (sieve_before, sieve_after)
 * and the files of sieve_global_dir they and the users' scripts include.
 * Which file each include found, and its identity then, is kept beside the
 * program (struct lmtpd_sieve_global_deps), so that lmtpd_sieve.c can tell
 * when a user's cached program has to be compiled again too.
 *
 * Each name of sieve_before/sieve_after is a slot holding its current
 * compiled program, reference-counted: a delivery takes a reference on every
 * current program when it starts (lmtpd_sieve_globals_get()) and runs those
 * to the end, whatever changes meanwhile. At most about once a second a
 * delivery looks at the files each program was compiled from (the script and
 * the global scripts it includes: device, inode, size, mtime, ctime) and
 * compiles a slot again when one changed; SIGHUP does it at once for every
 * slot. A new version that does not compile (or cannot be read) is logged
 * once and the previous good program stays; a removed file stops being run.
 * Only one thread reloads at a time (reload_lock); deliveries meanwhile go
 * on with the programs they find. Reads files of sieve_global_dir only,
 * which the administrator owns (trusted as configuration).
 */
#include "lmtpd_sieve.h"

#include "log.h"
#include "sieve_settings.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Which file a global name was found in, and its identity then. */
struct fingerprint {
	int found; /* 0: neither file; 1: NAME.sieve; 2: NAME; < 0: -errno of the failure */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

/* A file a program was compiled from (or found missing). */
struct dependency {
	char *name;
	struct fingerprint fp;
};

struct lmtpd_sieve_global_deps {
	struct dependency *items;
	size_t count;
};

struct lmtpd_sieve_global_prog {
	struct sieve_program *program;
	unsigned int refs; /* the slot's while current, one per delivery running it */
};

struct slot {
	const char *name; /* in the settings */
	bool after;
	struct lmtpd_sieve_global_prog *current; /* NULL: not run (missing, never compiled) */
	/* under reload_lock only: what the last look found */
	struct lmtpd_sieve_global_deps deps;
};

static struct {
	const struct sieve_settings *set;
	struct slot *slots;
	size_t nslots;
	pthread_mutex_t lock;        /* slot->current, the references, last_check_ms */
	pthread_mutex_t reload_lock; /* one reloader at a time; slot->deps */
	int64_t last_check_ms;
} GL = {.lock = PTHREAD_MUTEX_INITIALIZER, .reload_lock = PTHREAD_MUTEX_INITIALIZER};

static void fp_from_stat(struct fingerprint *fp, int found, const struct stat *st)
{
	memset(fp, 0, sizeof(*fp));
	fp->found = found;
	fp->dev = st->st_dev;
	fp->ino = st->st_ino;
	fp->size = st->st_size;
	fp->mtime = st->st_mtim;
	fp->ctime = st->st_ctim;
}

static bool fp_equal(const struct fingerprint *a, const struct fingerprint *b)
{
	return a->found == b->found && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* The two places of a global name, in the order they are tried; NULL: not a valid name. */
static char *global_path(const char *name, int which)
{
	const char *dir = GL.set->global_dir != NULL ? GL.set->global_dir : "";

	if (dir[0] == '\0' || name[0] == '\0' || strchr(name, '/') != NULL)
		return NULL;
	return which == 1 ? xasprintf("%s/%s.sieve", dir, name) : xasprintf("%s/%s", dir, name);
}

/* Where a global name resolves now, without reading it. */
static void global_stat(const char *name, struct fingerprint *fp)
{
	struct stat st;

	memset(fp, 0, sizeof(*fp));
	for (int which = 1; which <= 2; which++) {
		char *path = global_path(name, which);
		int r;

		if (path == NULL)
			return;
		r = stat(path, &st);
		free(path);
		if (r == 0) {
			fp_from_stat(fp, which, &st);
			return;
		}
		if (errno != ENOENT) {
			fp->found = -errno;
			return;
		}
	}
}

/*
 * Read NAME.sieve, else NAME, of sieve_global_dir: 1 read, 0 missing, -1
 * error (*error_r). *fp_r (may be NULL) tells which file, as it was opened.
 */
static int read_fp(const char *name, char **data_r, size_t *len_r, struct fingerprint *fp_r,
                   const char **error_r)
{
	struct fingerprint fp = {0};
	struct sbuf b = {0};
	char buf[8192];
	char *path = NULL;
	FILE *f = NULL;
	struct stat st;
	int which, err = ENOENT;
	size_t n;

	for (which = 1; which <= 2 && f == NULL; which++) {
		free(path);
		if ((path = global_path(name, which)) == NULL)
			break;
		f = fopen(path, "rb");
		err = errno;
		if (f == NULL && err != ENOENT)
			break;
	}
	if (f == NULL) {
		/* as a later look will see it (a file that cannot be opened may be there) */
		if (fp_r != NULL)
			global_stat(name, fp_r);
		*error_r = path != NULL ? errorf("%s: %s", path, strerror(err)) : "not found";
		free(path);
		return err == ENOENT ? 0 : -1;
	}
	if (fstat(fileno(f), &st) == 0)
		fp_from_stat(&fp, which - 1, &st);
	else
		fp.found = -errno;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		sbuf_append(&b, buf, n);
		if (b.len > GL.set->compile.max_script_size + 1)
			break; /* the compiler says it is too big */
	}
	if (fp_r != NULL)
		*fp_r = fp;
	if (ferror(f)) {
		*error_r = errorf("%s: read error", path);
		fclose(f);
		free(path);
		sbuf_free(&b);
		return -1;
	}
	fclose(f);
	free(path);
	sbuf_append(&b, "", 0);
	*len_r = b.len;
	*data_r = b.data != NULL ? b.data : xstrdup("");
	return 1;
}

static void dep_add(struct lmtpd_sieve_global_deps *l, const char *name,
                    const struct fingerprint *fp)
{
	l->items = xrealloc(l->items, (l->count + 1) * sizeof(*l->items));
	l->items[l->count].name = xstrdup(name);
	l->items[l->count].fp = *fp;
	l->count++;
}

static void deps_clear(struct lmtpd_sieve_global_deps *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i].name);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* Whether a file of l is not (or no longer) what it was when it was read. */
static bool deps_changed(const struct lmtpd_sieve_global_deps *l)
{
	for (size_t i = 0; i < l->count; i++) {
		struct fingerprint now;

		global_stat(l->items[i].name, &now);
		if (!fp_equal(&now, &l->items[i].fp))
			return true;
	}
	return false;
}

int lmtpd_sieve_global_read(const char *name, struct lmtpd_sieve_global_deps **deps, char **data_r,
                            size_t *len_r, const char **error_r)
{
	struct fingerprint fp;
	int r;

	if (deps == NULL)
		return read_fp(name, data_r, len_r, NULL, error_r);
	r = read_fp(name, data_r, len_r, &fp, error_r);
	if (*deps == NULL)
		*deps = xcalloc(1, sizeof(**deps));
	dep_add(*deps, name, &fp);
	return r;
}

bool lmtpd_sieve_global_changed(const struct lmtpd_sieve_global_deps *deps)
{
	return deps != NULL && deps_changed(deps);
}

void lmtpd_sieve_global_deps_free(struct lmtpd_sieve_global_deps **deps)
{
	if (*deps == NULL)
		return;
	deps_clear(*deps);
	free(*deps);
	*deps = NULL;
}

/* include from a global script: :global files are dependencies, :personal ones do not exist. */
static int loader(void *ctx, enum sieve_script_location location, const char *name, char **data_r,
                  size_t *len_r, const char **error_r)
{
	struct fingerprint fp;
	int r;

	if (location != SIEVE_LOCATION_GLOBAL)
		return 0;
	r = read_fp(name, data_r, len_r, &fp, error_r);
	dep_add(ctx, name, &fp);
	return r;
}

static void prog_release(struct lmtpd_sieve_global_prog *p)
{
	bool last;

	if (p == NULL)
		return;
	pthread_mutex_lock(&GL.lock);
	last = --p->refs == 0;
	pthread_mutex_unlock(&GL.lock);
	if (last) {
		sieve_program_free(&p->program);
		free(p);
	}
}

/* Make p (NULL: none) the slot's program; the one before goes when its last delivery ends. */
static void slot_install(struct slot *s, struct lmtpd_sieve_global_prog *p)
{
	struct lmtpd_sieve_global_prog *old;

	pthread_mutex_lock(&GL.lock);
	old = s->current;
	s->current = p;
	pthread_mutex_unlock(&GL.lock);
	prog_release(old);
}

enum load_why { LOAD_START, LOAD_CHANGED, LOAD_SIGHUP };

/* Read and compile a slot's script (again; reload_lock held). */
static void slot_load(struct slot *s, enum load_why why)
{
	bool at_start = why == LOAD_START;
	const char *kind = s->after ? "after" : "before";
	struct lmtpd_sieve_global_deps deps = {0};
	struct fingerprint fp;
	const char *error = "?";
	char *data = NULL;
	size_t len = 0;
	int r;

	r = read_fp(s->name, &data, &len, &fp, &error);
	dep_add(&deps, s->name, &fp);
	if (r == 0) {
		if (at_start)
			log_error("sieve: global %s script %s: %s", kind, s->name, error);
		else if (s->current != NULL)
			log_warn("sieve: global %s script %s: removed, no longer run", kind,
			         s->name);
		slot_install(s, NULL);
	} else if (r < 0) {
		log_error("sieve: global %s script %s: %s%s", kind, s->name, error,
		          s->current != NULL ? ": the previous version stays" : " (left out)");
	} else {
		struct sieve_compile_options opts = GL.set->compile;
		struct sieve_program *program;

		opts.include_loader = loader;
		opts.include_ctx = &deps;
		program = lmtpd_sieve_compile(&opts, data, len, &error);
		if (program == NULL) {
			log_error("sieve: global %s script %s: %s%s", kind, s->name, error,
			          s->current != NULL ? ": the previous version stays"
			                             : " (left out)");
		} else {
			struct lmtpd_sieve_global_prog *p = xcalloc(1, sizeof(*p));

			p->program = program;
			p->refs = 1;
			if (!at_start)
				log_info("sieve: global %s script %s: compiled again (%s)", kind,
				         s->name, why == LOAD_SIGHUP ? "SIGHUP" : "changed");
			slot_install(s, p);
		}
	}
	free(data);
	deps_clear(&s->deps);
	s->deps = deps;
}

static bool slot_changed(const struct slot *s)
{
	return s->deps.count == 0 || deps_changed(&s->deps);
}

/* Look at every slot (reload_lock held); force: compile all again. */
static void check_slots(bool force)
{
	for (size_t i = 0; i < GL.nslots; i++) {
		if (force)
			slot_load(&GL.slots[i], LOAD_SIGHUP);
		else if (slot_changed(&GL.slots[i]))
			slot_load(&GL.slots[i], LOAD_CHANGED);
	}
}

void lmtpd_sieve_global_init(const struct sieve_settings *set)
{
	GL.set = set;
	GL.nslots = set->nbefore + set->nafter;
	GL.slots = xcalloc(GL.nslots + 1, sizeof(*GL.slots));
	for (size_t i = 0; i < GL.nslots; i++) {
		struct slot *s = &GL.slots[i];

		s->after = i >= set->nbefore;
		s->name = s->after ? set->after[i - set->nbefore] : set->before[i];
		slot_load(s, LOAD_START);
	}
	GL.last_check_ms = monotonic_ms();
}

void lmtpd_sieve_reload(void)
{
	/* users' scripts that include global ones are compiled again too */
	lmtpd_sieve_cache_forget_global();
	pthread_mutex_lock(&GL.reload_lock);
	check_slots(true);
	pthread_mutex_lock(&GL.lock);
	GL.last_check_ms = monotonic_ms();
	pthread_mutex_unlock(&GL.lock);
	pthread_mutex_unlock(&GL.reload_lock);
}

void lmtpd_sieve_globals_get(struct lmtpd_sieve_globals *g)
{
	int64_t now = monotonic_ms();
	bool due;

	memset(g, 0, sizeof(*g));
	if (GL.nslots == 0)
		return;
	pthread_mutex_lock(&GL.lock);
	due = now - GL.last_check_ms >= LMTPD_SIEVE_CHECK_MS;
	if (due)
		GL.last_check_ms = now;
	pthread_mutex_unlock(&GL.lock);
	/* another thread reloading: this delivery runs what is there now */
	if (due && pthread_mutex_trylock(&GL.reload_lock) == 0) {
		check_slots(false);
		pthread_mutex_unlock(&GL.reload_lock);
	}

	g->before = xcalloc(GL.nslots, sizeof(*g->before));
	g->after = xcalloc(GL.nslots, sizeof(*g->after));
	g->held = xcalloc(GL.nslots, sizeof(*g->held));
	pthread_mutex_lock(&GL.lock);
	for (size_t i = 0; i < GL.nslots; i++) {
		struct lmtpd_sieve_global_prog *p = GL.slots[i].current;

		if (p == NULL)
			continue;
		p->refs++;
		g->held[g->nheld++] = p;
		if (GL.slots[i].after)
			g->after[g->nafter++] = p->program;
		else
			g->before[g->nbefore++] = p->program;
	}
	pthread_mutex_unlock(&GL.lock);
}

void lmtpd_sieve_globals_put(struct lmtpd_sieve_globals *g)
{
	for (size_t i = 0; i < g->nheld; i++)
		prog_release(g->held[i]);
	free(g->before);
	free(g->after);
	free(g->held);
	memset(g, 0, sizeof(*g));
}
