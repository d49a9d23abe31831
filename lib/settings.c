/*
 * settings.c: the table of every setting in sluice.conf, for every program.
 *
 * One row per setting: name, type, default, range, one line of help. Parsing,
 * validation, `sluice-admin config show` and `config show -n` all come from
 * this table. Keys are grouped by the program that reads them; a key's prefix
 * is its program (none for shared keys). Durations are in milliseconds and
 * sizes in bytes in the min/max columns.
 */
#include "config.h"
#include "util.h"

#define KiB (1024LL)
#define MiB (1024LL * 1024)
#define GiB (1024LL * 1024 * 1024)
#define SEC (1000LL)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

const struct setting_def settings_table[] = {
	/* --- shared by every program --- */
	{"log_level", SETTING_STRING, "info", 0, 0, "lowest level logged: debug, info, warn, error"},
	{"log_syslog", SETTING_BOOL, "no", 0, 0, "log to syslog (facility mail) instead of stderr"},
	{"run_user", SETTING_STRING, "", 0, 0,
	 "user the daemons switch to after binding their sockets (empty: stay as started)"},
	{"state_dir", SETTING_STRING, "/var/lib/sluice", 0, 0,
	 "folder for runtime state: sockets, pid files"},
	{"db_url", SETTING_STRING, "dbname=sluice", 0, 0,
	 "PostgreSQL connection string (libpq conninfo or URI) used unless a program has its own"},
	{"db_migrate_url", SETTING_STRING, "", 0, 0,
	 "connection string of the schema owner, used only by `sluice-admin db migrate` "
	 "(empty: the admin connection)"},
	{"db_pool_size", SETTING_INT, "4", 1, 256, "PostgreSQL connections per process at most"},
	{"db_connect_timeout", SETTING_DURATION, "5s", 1 * SEC, 5 * MIN,
	 "deadline for connecting to PostgreSQL"},
	{"db_query_timeout", SETTING_DURATION, "10s", 100, 10 * MIN,
	 "deadline for one statement (statement_timeout)"},
	{"db_wait_timeout", SETTING_DURATION, "5s", 10, 5 * MIN,
	 "how long a caller waits for a free pooled connection before a temporary failure"},
	{"tls_cert_file", SETTING_STRING, "", 0, 0, "PEM certificate chain for TLS listeners"},
	{"tls_key_file", SETTING_STRING, "", 0, 0, "PEM private key for TLS listeners"},
	{"recipient_delimiter", SETTING_STRING, "+", 0, 0,
	 "characters that separate a local part from its extension (empty: none)"},
	{"auth_socket", SETTING_STRING, "/var/lib/sluice/auth.sock", 0, 0,
	 "UNIX socket where sluice-authd answers"},
	{"mail_root", SETTING_STRING, "/var/lib/sluice/mail", 0, 0,
	 "root folder of the mail store"},
	{"trusted_networks", SETTING_STRING, "127.0.0.0/8 ::1/128", 0, 0,
	 "client networks trusted to relay and to log in without TLS"},

	/* --- passwords (lib/password.c): sluice-authd verifies and rehashes, sluice-admin hashes --- */
	{"password_argon2_opslimit", SETTING_INT, "3", 1, 32,
	 "argon2id passes (t) of new password hashes; login time grows with it"},
	{"password_argon2_memlimit", SETTING_SIZE, "64M", 8 * MiB, 1 * GiB,
	 "argon2id memory (m) of new password hashes; each verification running holds this much"},
	{"password_default_scheme", SETTING_STRING, "", 0, 0,
	 "scheme of stored hashes without {SCHEME} prefix that are no crypt string, e.g. "
	 "PLAIN-MD5 for PostfixAdmin encrypt=md5 (empty: such hashes are invalid)"},

	/* --- sluice-authd --- */
	{"authd_db_url", SETTING_STRING, "", 0, 0,
	 "connection string for sluice-authd's role, the only one that reads password hashes"},
	{"authd_max_connections", SETTING_INT, "256", 1, 65536,
	 "concurrent client connections at most"},
	{"authd_hash_workers", SETTING_INT, "2", 1, 64,
	 "password verifications running at once at most (argon2 needs much memory)"},
	{"authd_penalty_initial", SETTING_DURATION, "2s", 0, 5 * MIN,
	 "delay after the first failed login from an IP or for a user"},
	{"authd_penalty_max", SETTING_DURATION, "15s", 0, 10 * MIN,
	 "the delay doubles per failure up to this cap"},
	{"authd_penalty_expire", SETTING_DURATION, "1h", 1 * SEC, 7 * DAY,
	 "a penalty is forgotten after this long without failures"},
	{"authd_request_timeout", SETTING_DURATION, "30s", 1 * SEC, 10 * MIN,
	 "deadline for a client to send a request line"},
	{"authd_rehash_legacy", SETTING_BOOL, "yes", 0, 0,
	 "replace a legacy hash by argon2id after a successful login"},
	{"authd_hash_wait_timeout", SETTING_DURATION, "5s", 10, 5 * MIN,
	 "how long a request waits for a free hash worker before a temporary failure"},
	{"authd_penalty_table_size", SETTING_INT, "65536", 16, 16777216,
	 "client IPs and users whose failures are remembered at most (the oldest go first)"},
	{"authd_socket_mode", SETTING_STRING, "0660", 0, 0,
	 "permissions (octal) of auth_socket; its group is run_user's, so daemons in it may ask"},

	/* --- Sieve (sluice-lmtpd, sluice-sieved, sluice-sieve) --- */
	{"sieve_extensions", SETTING_STRING, "", 0, 0,
	 "Sieve extensions scripts may require, space-separated (empty: every one supported)"},
	{"sieve_max_script_size", SETTING_SIZE, "1M", 1 * KiB, 64 * MiB,
	 "largest Sieve script accepted"},
	{"sieve_max_actions", SETTING_INT, "32", 1, 1000,
	 "actions one Sieve run may take; more is a runtime error (the message is kept)"},
	{"sieve_max_redirects", SETTING_INT, "4", 0, 100, "redirect actions one Sieve run may take"},
	{"sieve_max_cpu_time", SETTING_DURATION, "5s", 100, 5 * MIN,
	 "wall time one Sieve run may use; more is a runtime error (the message is kept)"},
	{"sieve_vacation_min_period", SETTING_DURATION, "1d", 0, 365 * DAY,
	 "shortest vacation response period; shorter :days / :seconds are raised to it"},
	{"sieve_vacation_max_period", SETTING_DURATION, "0", 0, 3650 * DAY,
	 "longest vacation response period (0: no limit)"},
	{"sieve_vacation_default_period", SETTING_DURATION, "7d", 0, 3650 * DAY,
	 "vacation response period when the script gives none"},
	{"sieve_spamtest_header", SETTING_STRING, "X-Spam-Score", 0, 0,
	 "header field the spamtest test reads (empty: spamtest is always \"0\", not tested)"},
	{"sieve_spamtest_type", SETTING_STRING, "score", 0, 0,
	 "how to read it: score (a number), strlen (X-Spam-Level: ****) or text"},
	{"sieve_spamtest_max", SETTING_INT, "10", 1, 1000000,
	 "score (or length) that means certainly spam"},
	{"sieve_spamtest_text", SETTING_STRING, "", 0, 0,
	 "for type text: values meaning spamtest 1, 2, ... (prefixes, space-separated)"},
	{"sieve_virustest_header", SETTING_STRING, "X-Virus-Score", 0, 0,
	 "header field the virustest test reads (empty: virustest is always \"0\")"},
	{"sieve_virustest_type", SETTING_STRING, "score", 0, 0, "score, strlen or text"},
	{"sieve_virustest_max", SETTING_INT, "5", 1, 1000000,
	 "score (or length) that means a virus was found"},
	{"sieve_virustest_text", SETTING_STRING, "", 0, 0,
	 "for type text: values meaning virustest 1, 2, ... (prefixes, space-separated)"},
	{"sieve_global_dir", SETTING_STRING, "/etc/sluice/sieve", 0, 0,
	 "folder of administrator scripts: include :global and the before/after scripts"},
	{"sieve_before", SETTING_STRING, "", 0, 0,
	 "global scripts (names in sieve_global_dir) run before each user's script"},
	{"sieve_after", SETTING_STRING, "", 0, 0,
	 "global scripts run after the user's script while the message is still kept"},

	/* --- sluice-admin --- */
	{"admin_db_url", SETTING_STRING, "", 0, 0, "connection string for sluice-admin's role"},

	/* --- sluice-smtpd --- */

	/* --- queue, sluice-qmgr, sluice-sendmail, sluice-queue --- */
	{"queue_directory", SETTING_STRING, "/var/spool/sluice", 0, 0,
	 "root of the mail queue (tmp, incoming, active, deferred, hold, maildrop, bounce)"},
	{"qmgr_hostname", SETTING_STRING, "", 0, 0,
	 "host name in LHLO, DSNs (Reporting-MTA) and Message-IDs qmgr makes (empty: the system's)"},
	{"qmgr_lmtp_socket", SETTING_STRING, "/var/lib/sluice/lmtp.sock", 0, 0,
	 "UNIX socket of sluice-lmtpd, where local recipients are delivered"},
	{"qmgr_lmtp_connections", SETTING_INT, "8", 1, 256,
	 "LMTP connections, and so messages delivered at once, at most"},
	{"qmgr_lmtp_connect_timeout", SETTING_DURATION, "30s", 100, 10 * MIN,
	 "deadline for connecting to the LMTP socket and reading its greeting"},
	{"qmgr_lmtp_timeout", SETTING_DURATION, "5m", 100, 1 * HOUR,
	 "deadline for each LMTP command's reply and each write"},
	{"qmgr_lmtp_data_timeout", SETTING_DURATION, "10m", 100, 1 * HOUR,
	 "deadline for the per-recipient replies after the end of the message data"},
	{"qmgr_lmtp_idle_timeout", SETTING_DURATION, "10s", 0, 1 * HOUR,
	 "an LMTP connection unused this long is closed (0: close after each message)"},
	{"qmgr_lmtp_max_reuse", SETTING_INT, "1000", 1, 1000000,
	 "messages one LMTP connection carries before it is closed and opened again"},
	{"qmgr_lmtp_recipient_limit", SETTING_INT, "1000", 1, 100000,
	 "recipients in one LMTP transaction; more are delivered in further transactions"},
	{"qmgr_first_retry", SETTING_DURATION, "5m", 1 * SEC, 7 * DAY,
	 "wait before the first retry of a deferred message; it doubles at each attempt"},
	{"qmgr_max_retry", SETTING_DURATION, "4000s", 1 * SEC, 7 * DAY,
	 "longest wait between two attempts"},
	{"qmgr_queue_lifetime", SETTING_DURATION, "5d", 0, 365 * DAY,
	 "a recipient still deferred this long after arrival is bounced (0: after one attempt)"},
	{"qmgr_bounce_lifetime", SETTING_DURATION, "5d", 0, 365 * DAY,
	 "the same for bounces and other mail from the null sender"},
	{"qmgr_delay_warning_time", SETTING_DURATION, "4h", 0, 365 * DAY,
	 "after this long deferred, a delay DSN goes to senders who asked for NOTIFY=DELAY (0: never)"},
	{"qmgr_bounce_size_limit", SETTING_SIZE, "50K", 0, 1 * GiB,
	 "a bounce returns the whole message (RET=FULL) only up to this size, else its header"},
	{"qmgr_postmaster", SETTING_STRING, "postmaster", 0, 0,
	 "who gets bounces that cannot be delivered (a bare name is qualified with sendmail_domain)"},
	{"qmgr_active_limit", SETTING_INT, "10000", 10, 1000000,
	 "messages qmgr holds in memory to deliver at most; the rest waits in incoming/"},
	{"qmgr_rescan_interval", SETTING_DURATION, "60s", 1 * SEC, 1 * DAY,
	 "how often incoming/ and maildrop/ are listed again in case a wake-up was missed"},
	{"sendmail_domain", SETTING_STRING, "", 0, 0,
	 "domain added to bare names given to sluice-sendmail, and to the login of senders "
	 "without -f (empty: qmgr_hostname)"},
	{"sendmail_max_message_size", SETTING_SIZE, "50M", 1 * KiB, 2 * GiB,
	 "largest message sluice-sendmail accepts (checked again when qmgr picks it up)"},
	{"sendmail_max_recipients", SETTING_INT, "1000", 1, 100000,
	 "recipients one sluice-sendmail message may have at most"},

	/* --- sluice-lmtpd, the mail store, quotas --- */
	{"lmtpd_socket", SETTING_STRING, "/var/lib/sluice/lmtp.sock", 0, 0,
	 "UNIX socket where sluice-lmtpd listens (LMTP; sluice-qmgr delivers to qmgr_lmtp_socket)"},
	{"lmtpd_socket_mode", SETTING_STRING, "0660", 0, 0,
	 "permissions (octal) of lmtpd_socket; its group is run_user's"},
	{"lmtpd_listen", SETTING_STRING, "", 0, 0,
	 "extra LMTP listeners, e.g. 127.0.0.1:24 (empty: the UNIX socket only); keep them on "
	 "loopback: LMTP has no authentication"},
	{"lmtpd_db_url", SETTING_STRING, "", 0, 0,
	 "connection string for sluice-lmtpd's role (member of sluice_mda)"},
	{"lmtpd_hostname", SETTING_STRING, "", 0, 0,
	 "name in the greeting and LHLO reply (empty: the host name)"},
	{"lmtpd_max_connections", SETTING_INT, "64", 1, 65536, "concurrent LMTP sessions at most"},
	{"lmtpd_max_recipients", SETTING_INT, "1000", 1, 100000,
	 "recipients in one LMTP transaction at most (452 4.5.3 past it)"},
	{"lmtpd_max_message_size", SETTING_SIZE, "100M", 1 * KiB, 4 * GiB,
	 "largest message accepted (SIZE in LHLO; 552 5.3.4 past it)"},
	{"lmtpd_timeout", SETTING_DURATION, "5m", 1 * SEC, 1 * HOUR,
	 "deadline for each read from and write to the LMTP client"},
	{"lmtpd_max_delivered_to", SETTING_INT, "1", 1, 100,
	 "a message already holding this many Delivered-To fields naming the recipient is a "
	 "loop (554 5.4.6)"},
	{"quota_exceeded_tempfail", SETTING_BOOL, "no", 0, 0,
	 "answer 452 4.2.2 (try again) instead of 552 5.2.2 when a mailbox or domain is full"},
	{"quota_warning_thresholds", SETTING_STRING, "85 95", 0, 0,
	 "usage percentages (1-100, space-separated) whose first crossing sends the user a "
	 "warning message (empty: none)"},
	{"quota_warning_from", SETTING_STRING, "", 0, 0,
	 "From address of quota warnings (empty: postmaster@ the mailbox's domain)"},
	{"store_check_grace", SETTING_DURATION, "15m", 0, 7 * DAY,
	 "`store check` leaves files younger than this alone (a delivery may be committing them)"},
};

const unsigned int settings_count = ARRAY_SIZE(settings_table);
