/*
 * admin_input.c: the values an administrator types: domain names and
 * addresses (validated and normalized by lib/addr.c), sizes and counts,
 * yes/no, the files a command reads (a Sieve script, a vacation text), and
 * new passwords, which come from standard input or a no-echo terminal prompt
 * and never from the command line (where ps(1) and shell history would show
 * them). A password's memory is wiped before it is freed.
 */
#include "admin.h"
#include "config.h"
#include "log.h"
#include "password.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Quote the admin's input in an error line: one line, printable. */
static const char *quoted(char *buf, const char *text)
{
	return log_untrusted(buf, text, strlen(text));
}

int admin_parse_domain(const char *text, char *out)
{
	char esc[LOG_UNTRUSTED_BUFSZ];
	const char *error;

	if (addr_domain_normalize(text, strlen(text), ADDR_UTF8_DOMAIN, out, &error) < 0)
		return admin_error(EX_DATAERR, "invalid domain name '%s': %s", quoted(esc, text),
		                   error);
	return 0;
}

int admin_parse_address(const char *text, int allow_catchall, struct mail_address *addr)
{
	char esc[LOG_UNTRUSTED_BUFSZ];
	unsigned flags = ADDR_SMTPUTF8 | (allow_catchall ? ADDR_ALLOW_CATCHALL : 0);
	const char *error;

	if (addr_parse_mailbox(text, strlen(text), flags, addr, &error) < 0)
		return admin_error(EX_DATAERR, "invalid address '%s': %s", quoted(esc, text),
		                   error);
	if (addr->domain[0] == '\0')
		return admin_error(EX_DATAERR, "invalid address '%s': no domain",
		                   quoted(esc, text));
	return 0;
}

int admin_parse_size(const char *option, const char *text, int64_t *bytes_r)
{
	char esc[LOG_UNTRUSTED_BUFSZ];

	if (strcmp(text, "unlimited") == 0) {
		*bytes_r = 0;
		return 0;
	}
	if (config_parse_value(SETTING_SIZE, text, bytes_r) < 0 || *bytes_r < 0)
		return admin_error(EX_DATAERR,
		                   "%s '%s': not a size (a number of bytes with K, M, G or T, "
		                   "or 0 for unlimited)",
		                   option, quoted(esc, text));
	return 0;
}

int admin_parse_count(const char *option, const char *text, int small, int64_t *value_r)
{
	char esc[LOG_UNTRUSTED_BUFSZ];

	if (strcmp(text, "unlimited") == 0) {
		*value_r = 0;
		return 0;
	}
	if (config_parse_value(SETTING_INT, text, value_r) < 0 || *value_r < 0 ||
	    (small && *value_r > INT32_MAX))
		return admin_error(EX_DATAERR, "%s '%s': not a count (0 or more%s)", option,
		                   quoted(esc, text), small ? ", at most 2147483647" : "");
	return 0;
}

int admin_parse_bool(const char *option, const char *text, int *value_r)
{
	char esc[LOG_UNTRUSTED_BUFSZ];
	int64_t v;

	if (config_parse_value(SETTING_BOOL, text, &v) < 0)
		return admin_error(EX_DATAERR, "%s '%s': say yes or no", option, quoted(esc, text));
	*value_r = (int)v;
	return 0;
}

int admin_check_text(const char *option, const char *text, size_t max)
{
	if (strlen(text) > max)
		return admin_error(EX_DATAERR, "%s: longer than %zu bytes", option, max);
	for (const char *p = text; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return admin_error(EX_DATAERR, "%s: control characters are not allowed",
			                   option);
	}
	return 0;
}

const char *admin_i64(char *buf, int64_t value)
{
	snprintf(buf, ADMIN_I64_BUFSZ, "%" PRId64, value);
	return buf;
}

void admin_format_size(int64_t bytes, int unlimited_zero, char *out, size_t outsz)
{
	static const char units[] = "KMGT";
	int64_t unit = 1024LL * 1024 * 1024 * 1024;

	if (bytes == 0 && unlimited_zero) {
		snprintf(out, outsz, "unlimited");
		return;
	}
	/* Exact multiples print as typed (1G, 1536M), so a limit reads back as given. */
	for (int i = 3; i >= 0; i--, unit /= 1024) {
		if (bytes != 0 && bytes % unit == 0) {
			snprintf(out, outsz, "%" PRId64 "%c", bytes / unit, units[i]);
			return;
		}
	}
	unit = 1024LL * 1024 * 1024 * 1024;
	for (int i = 3; i >= 0; i--, unit /= 1024) {
		if (bytes >= unit) {
			snprintf(out, outsz, "%.1f%c", (double)bytes / (double)unit, units[i]);
			return;
		}
	}
	snprintf(out, outsz, "%" PRId64, bytes);
}

enum admin_read admin_read_file(const char *path, size_t max, struct sbuf *out)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	enum admin_read result = ADMIN_READ_OK;
	char buf[8192];
	size_t n;

	if (f == NULL)
		return ADMIN_READ_OPEN;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (out->len + n > max) {
			result = ADMIN_READ_TOO_BIG;
			break;
		}
		sbuf_append(out, buf, n);
	}
	if (result == ADMIN_READ_OK && ferror(f))
		result = ADMIN_READ_ERROR;
	if (f != stdin)
		fclose(f);
	if (result == ADMIN_READ_OK)
		sbuf_append(out, "", 0);
	return result;
}

/* The terminal state to restore if a signal ends us while echo is off. */
static int tty_fd = -1;
static struct termios tty_saved;

static void tty_restore_and_exit(int sig)
{
	static const char nl[] = "\n";

	if (tty_fd >= 0) {
		tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
		if (write(tty_fd, nl, 1) < 0) {
			/* nothing more to do on the way out */
		}
	}
	_exit(128 + sig);
}

/* Read one line into buf (size PASSWORD_PLAIN_MAX + 2) from fd, without stdio. */
static int read_line(int fd, char *buf, size_t size, size_t *len_r)
{
	size_t len = 0;
	char c;

	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return admin_error(EX_IOERR, "reading the password: %s", strerror(errno));
		if (n == 0 || c == '\n')
			break;
		if (len + 1 >= size)
			return admin_error(EX_DATAERR, "password longer than %d bytes",
			                   PASSWORD_PLAIN_MAX);
		buf[len++] = c;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	*len_r = len;
	return 0;
}

static int prompt(int fd, const char *text, char *buf, size_t size)
{
	struct termios noecho;
	size_t len;
	int rc;

	if (tcgetattr(fd, &tty_saved) < 0)
		return admin_error(EX_IOERR, "reading the password: %s", strerror(errno));
	tty_fd = fd;
	signal(SIGINT, tty_restore_and_exit);
	signal(SIGTERM, tty_restore_and_exit);
	signal(SIGHUP, tty_restore_and_exit);
	noecho = tty_saved;
	noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	/* Echo off (dropping anything typed ahead) before the prompt appears, so an
	 * answer typed right after the prompt is never flushed away. */
	if (tcsetattr(fd, TCSAFLUSH, &noecho) < 0 || write(fd, text, strlen(text)) < 0) {
		tty_fd = -1;
		return admin_error(EX_IOERR, "prompting for the password: %s", strerror(errno));
	}
	rc = read_line(fd, buf, size, &len);
	tcsetattr(fd, TCSANOW, &tty_saved);
	tty_fd = -1;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (write(fd, "\n", 1) < 0) {
		/* the line feed is cosmetic */
	}
	return rc;
}

int admin_read_password(int from_stdin, const char *address, char **plain_r)
{
	size_t size = PASSWORD_PLAIN_MAX + 2, len;
	char *buf = xcalloc(1, size), *again = NULL;
	int rc, fd;

	*plain_r = NULL;
	if (from_stdin) {
		rc = read_line(STDIN_FILENO, buf, size, &len);
	} else {
		fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			rc = admin_error(EX_USAGE,
			                 "no terminal to ask for the password of %s: "
			                 "give it on standard input with --password-stdin",
			                 address);
			goto out;
		}
		char *text = xasprintf("New password for %s: ", address);
		rc = prompt(fd, text, buf, size);
		free(text);
		if (rc == 0) {
			again = xcalloc(1, size);
			rc = prompt(fd, "Repeat the new password: ", again, size);
			if (rc == 0 && strcmp(buf, again) != 0)
				rc = admin_error(EX_DATAERR,
				                 "the two passwords differ; nothing changed");
		}
		close(fd);
	}
	if (rc == 0 && buf[0] == '\0')
		rc = admin_error(EX_DATAERR, "empty password; nothing changed");
out:
	if (again != NULL) {
		explicit_bzero(again, size);
		free(again);
	}
	if (rc != 0) {
		explicit_bzero(buf, size);
		free(buf);
		return rc;
	}
	*plain_r = buf;
	return 0;
}

void admin_password_free(char **plain)
{
	if (*plain == NULL)
		return;
	explicit_bzero(*plain, strlen(*plain));
	free(*plain);
	*plain = NULL;
}

int admin_hash_password(struct admin_ctx *ctx, const char *plain, char **hash_r)
{
	static int initialized;
	const char *error;
	int rc;

	if ((rc = admin_config(ctx)) != 0)
		return rc;
	if (!initialized) {
		if (password_init(ctx->cfg, &error) < 0)
			return admin_error(EX_SOFTWARE, "password hashing unavailable: %s", error);
		initialized = 1;
	}
	if (password_hash(plain, hash_r, &error) < 0)
		return admin_error(EX_SOFTWARE, "cannot hash the password: %s", error);
	return 0;
}
