/*
 * daemon.h: the start-up every Sluice daemon shares (sluice-authd, -smtpd,
 * -qmgr, -lmtpd, -sieved, -imapd), so each main() keeps only what is its own.
 *
 * A daemon's command line is `[-c sluice.conf] [-f]`: -c names the file
 * (else $SLUICE_CONF, else CONFIG_DEFAULT_PATH), -f is accepted and ignored
 * (daemons always stay in the foreground; supervisors manage them). Anything
 * else, -h included, prints the usage line and exits 64 (EX_USAGE); a file
 * that does not load exits 78 (EX_CONFIG). log_level is checked by
 * config_load() itself, so applying it cannot fail.
 *
 * Most daemons call daemon_start(); one that loads sluice.conf its own way
 * (sluice-smtpd's settings snapshot) or checks more before logging as
 * configured (sluice-authd) calls daemon_init(), loads, then
 * daemon_apply_logging().
 */
#ifndef SLUICE_DAEMON_H
#define SLUICE_DAEMON_H

#include "config.h"

#include <sys/types.h>

/*
 * Parse the command line (exits 64 with the usage line on a bad one) and log
 * to stderr at info as progname until the configuration says otherwise.
 * Returns the path of sluice.conf to load; it lives as long as the process.
 */
const char *daemon_init(const char *progname, int argc, char **argv);

/* Log as cfg's log_level and log_syslog say, as progname. */
void daemon_apply_logging(const char *progname, const struct config *cfg);

/*
 * daemon_init(), config_load() (exits 78 with the file and line of an error),
 * then daemon_apply_logging(). Returns the configuration, which the caller
 * frees; *config_path_r (when not NULL) is the path, for SIGHUP reloads.
 */
struct config *daemon_start(const char *progname, int argc, char **argv,
                            const char **config_path_r);

/* The setting `name` as an octal file mode like 0660 (at most 0777). */
int daemon_octal_mode(const struct config *cfg, const char *name, mode_t *mode_r,
                      const char **error_r);

#endif
