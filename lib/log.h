/*
 * log.h: one logging facility for every Sluice program.
 *
 * Lines go to stderr (with a timestamp) or to syslog. Each thread may carry a
 * session id and a queue id; when set they prefix every line that thread logs,
 * so a session or a message can be followed with grep. Text that came from the
 * network must pass through log_untrusted() first: it is truncated and escaped.
 * Passwords and hashes are never given to these functions.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

/* Longest untrusted string logged as is; longer ones are cut and marked. */
#define LOG_UNTRUSTED_MAX 200
/* Size of a buffer that always holds log_untrusted()'s result. */
#define LOG_UNTRUSTED_BUFSZ (LOG_UNTRUSTED_MAX * 4 + 8)

/* Set the program name, the destination (syslog or stderr) and the lowest level logged. */
void log_init(const char *progname, int use_syslog, enum log_level min_level);
/* Parse "debug", "info", "warn" or "error"; -1 when unknown. */
int log_level_parse(const char *name);
/* Attach a session id (NULL to clear) to every later line of the calling thread. */
void log_set_session(const char *session_id);
/* Attach a queue id (NULL to clear) to every later line of the calling thread. */
void log_set_queue_id(const char *queue_id);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

/* The environment failed: log and exit(status) so a supervisor restarts us. */
void log_fatal(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* A bug: log and abort() with a core. */
void log_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Copy untrusted bytes into buf (LOG_UNTRUSTED_BUFSZ bytes) escaped for a log
 * line: printable ASCII as is, anything else as \xHH, at most LOG_UNTRUSTED_MAX
 * input bytes followed by "..." when cut. Returns buf.
 */
const char *log_untrusted(char *buf, const void *data, size_t len);

#endif
