/*
 * queue_dir.h: the queue directory's layout (see queue_file.h and
 * docs/queue-format.md): its subfolders, queue ids, creating the folders
 * with the right owners and modes, finding a message by id and listing a
 * subfolder. Shared by sluice-qmgr, sluice-queue, sluice-sendmail and the
 * writer.
 */
#ifndef SLUICE_QUEUE_DIR_H
#define SLUICE_QUEUE_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "queue_file.h"

/* The subfolders; the order is the order sluice-queue lists them in. */
enum queue_sub {
	QUEUE_SUB_INCOMING,
	QUEUE_SUB_ACTIVE,
	QUEUE_SUB_DEFERRED,
	QUEUE_SUB_HOLD,
	QUEUE_SUB_TMP,
	QUEUE_SUB_MAILDROP,
	QUEUE_SUB_BOUNCE,
	QUEUE_SUB_COUNT,
};
/* The folders that hold queue files (incoming, active, deferred, hold). */
#define QUEUE_SUB_MESSAGES 4

/* "incoming", "active", ... */
const char *queue_sub_name(enum queue_sub sub);

/*
 * A new queue id: 10 base-36 digits of the time in microseconds (so ids sort
 * by arrival until the year 2085) then 6 random base-36 digits (getrandom),
 * so hosts that share nothing do not collide. out gets QUEUE_ID_BUFSZ bytes.
 */
void queue_id_new(char *out);
/* True when s is a well-formed queue id (QUEUE_ID_LEN characters [0-9A-Z]). */
bool queue_id_valid(const char *s);
/* The microseconds since the epoch encoded in a valid id's first ten characters. */
int64_t queue_id_time_us(const char *id);

/* "<queue_dir>/<sub>/<id>" (id NULL: the folder) as a new string. */
char *queue_path(const char *queue_dir, enum queue_sub sub, const char *id);

/*
 * Create queue_dir and its subfolders where missing, owned by uid:gid when
 * we are root (pass (uid_t)-1 to leave owners alone), mode 0700, except
 * maildrop/ (1733: anyone may drop a file, nobody but the owner may list).
 * Existing folders get their modes fixed.
 */
int queue_dirs_init(const char *queue_dir, uid_t uid, gid_t gid, const char **error_r);

/*
 * Where a message is: 0 with *sub_r set, 1 when no message folder has it,
 * -1 on another error. A message moved meanwhile may be missed: callers that
 * act on the result retry on ENOENT.
 */
int queue_locate(const char *queue_dir, const char *id, enum queue_sub *sub_r,
                 const char **error_r);

/* The well-formed queue ids (other names are skipped) in a folder, sorted. */
struct queue_id_list {
	char (*ids)[QUEUE_ID_BUFSZ];
	size_t count;
};
int queue_list(const char *queue_dir, enum queue_sub sub, struct queue_id_list *list_r,
               const char **error_r);
void queue_id_list_free(struct queue_id_list *list);

/* fsync a folder, so a rename or unlink in it survives a crash. */
int queue_fsync_dir(const char *path, const char **error_r);

/*
 * Move a message between folders: rename(2), never replacing a file already
 * there. Returns 0, or -1 with errno (ENOENT: it was not in `from`).
 */
int queue_move(const char *queue_dir, const char *id, enum queue_sub from, enum queue_sub to);

#endif
