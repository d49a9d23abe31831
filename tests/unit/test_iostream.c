/*
 * test_iostream.c: the buffered stream over real sockets (socketpairs): the
 * line reader fed whole and one byte at a time, CRLF against bare LF, lines
 * of exactly the limit and one past it, long lines in parts, EOF mid-line,
 * read and write deadlines, the interrupt fd, counted reads across buffer
 * boundaries, and buffered writes.
 */
#include "iostream.h"
#include "util.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A writer thread feeding bytes to one end of a socketpair. */
struct feeder {
	int fd;
	const char *data;
	size_t len;
	size_t chunk; /* bytes per write(); 1 for one byte at a time */
	int delay_us; /* pause after each write */
	bool close_after;
	pthread_t tid;
};

static void *feeder_main(void *arg)
{
	struct feeder *f = arg;

	for (size_t off = 0; off < f->len;) {
		size_t n = f->len - off < f->chunk ? f->len - off : f->chunk;
		ssize_t w = write(f->fd, f->data + off, n);
		if (w < 0 && errno == EINTR)
			continue;
		ck_assert_int_gt(w, 0);
		off += (size_t)w;
		if (f->delay_us > 0)
			usleep((useconds_t)f->delay_us);
	}
	if (f->close_after)
		close(f->fd);
	return NULL;
}

static void feed(struct feeder *f, int fd, const char *data, size_t len, size_t chunk,
                 bool close_after, int delay_us)
{
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->delay_us = delay_us;
	f->data = data;
	f->len = len;
	f->chunk = chunk;
	f->close_after = close_after;
	ck_assert_int_eq(pthread_create(&f->tid, NULL, feeder_main, f), 0);
}

static void pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

struct want_line {
	enum iostream_status status;
	const char *data;
	size_t len; /* 0: strlen(data) */
	enum iostream_eol eol;
};

static void check_line(struct iostream *s, enum iostream_status st,
                       const struct iostream_line *line, const struct want_line *want, size_t i,
                       const char *label)
{
	size_t wlen = want->len != 0 ? want->len : strlen(want->data);

	ck_assert_msg(st == want->status, "%s line %zu: got status %s, want %s (%s)", label, i,
	              iostream_status_name(st), iostream_status_name(want->status),
	              iostream_error(s));
	ck_assert_msg(line->len == wlen && memcmp(line->data, want->data, wlen) == 0,
	              "%s line %zu: got '%.*s' (%zu), want '%s'", label, i, (int)line->len,
	              line->data, line->len, want->data);
	ck_assert_msg(line->data[line->len] == '\0', "%s line %zu: no NUL", label, i);
	ck_assert_msg(line->eol == want->eol, "%s line %zu: got eol %d, want %d", label, i,
	              line->eol, want->eol);
}

static enum iostream_status next_line(struct iostream *s, size_t max_len, bool parts,
                                      struct iostream_line *line)
{
	return parts ? iostream_read_line_part(s, max_len, line)
	             : iostream_read_line(s, max_len, line);
}

/*
 * One byte at a time, deterministically: write a byte, then read lines
 * without waiting until the stream has to wait. Every split of the input is
 * seen, including a CR that arrives before its LF.
 */
static void run_lockstep(const char *input, size_t input_len, size_t max_len, bool parts,
                         const struct want_line *want, size_t count)
{
	struct iostream *s;
	struct iostream_line line;
	enum iostream_status st;
	size_t wi = 0;
	int sv[2];

	pair(sv);
	s = iostream_create(sv[0]);
	iostream_set_timeouts(s, 0, 0);
	for (size_t i = 0; i < input_len; i++) {
		ck_assert_int_eq(write(sv[1], input + i, 1), 1);
		while ((st = next_line(s, max_len, parts, &line)) != IOSTREAM_TIMEOUT) {
			ck_assert_msg(wi < count, "lockstep: more lines than expected");
			check_line(s, st, &line, &want[wi], wi, "lockstep");
			wi++;
		}
	}
	close(sv[1]);
	iostream_set_timeouts(s, 5000, 5000);
	for (; wi < count; wi++) {
		st = next_line(s, max_len, parts, &line);
		check_line(s, st, &line, &want[wi], wi, "lockstep");
	}
	iostream_destroy(&s);
}

/* Run a table against the input fed whole, by a thread in chunks of 7 and of
 * 1, and in lockstep one byte at a time. */
static void run_table(const char *input, size_t input_len, size_t max_len, bool parts,
                      const struct want_line *want, size_t count)
{
	static const size_t chunks[] = {SIZE_MAX, 7, 1};

	for (size_t c = 0; c < ARRAY_SIZE(chunks); c++) {
		struct feeder f;
		struct iostream *s;
		struct iostream_line line;
		int sv[2];
		char label[64];

		pair(sv);
		s = iostream_create(sv[0]);
		iostream_set_timeouts(s, 10000, 10000);
		feed(&f, sv[1], input, input_len, chunks[c], true, 0);
		snprintf(label, sizeof(label), "chunk %zu", chunks[c] == SIZE_MAX ? 0 : chunks[c]);
		for (size_t i = 0; i < count; i++) {
			enum iostream_status st = next_line(s, max_len, parts, &line);
			check_line(s, st, &line, &want[i], i, label);
		}
		pthread_join(f.tid, NULL);
		iostream_destroy(&s);
		ck_assert_ptr_null(s);
	}
	run_lockstep(input, input_len, max_len, parts, want, count);
}

START_TEST(test_lines_basic)
{
	static const char input[] = "HELO a\r\nbare lf\n\r\n\nx\ry\r\nnul\0in\r\n\r\r\nlast";
	static const struct want_line want[] = {
	    {IOSTREAM_OK, "HELO a", 0, IOSTREAM_EOL_CRLF},
	    {IOSTREAM_OK, "bare lf", 0, IOSTREAM_EOL_LF},
	    {IOSTREAM_OK, "", 0, IOSTREAM_EOL_CRLF},
	    {IOSTREAM_OK, "", 0, IOSTREAM_EOL_LF},
	    {IOSTREAM_OK, "x\ry", 0, IOSTREAM_EOL_CRLF},
	    {IOSTREAM_OK, "nul\0in", 6, IOSTREAM_EOL_CRLF},
	    {IOSTREAM_OK, "\r", 0, IOSTREAM_EOL_CRLF},
	    {IOSTREAM_EOF, "last", 0, IOSTREAM_EOL_NONE},
	    {IOSTREAM_EOF, "", 0, IOSTREAM_EOL_NONE},
	};

	run_table(input, sizeof(input) - 1, 100, false, want, ARRAY_SIZE(want));
}
END_TEST

START_TEST(test_lines_limit)
{
	/* max_len 10: exactly 10 passes (with CRLF or LF), 11 is too long and
	 * is consumed to its LF, so the next line reads fine. */
	static const char input[] = "0123456789\r\n"
	                            "0123456789\n"
	                            "0123456789A\r\n"
	                            "next\r\n"
	                            "0123456789AB\n"
	                            "0123456789\rX\r\n"
	                            "0123456789\r\r\n"
	                            "after\r\n";
	static const struct want_line want[] = {
	    {IOSTREAM_OK, "0123456789", 0, IOSTREAM_EOL_CRLF},
	    {IOSTREAM_OK, "0123456789", 0, IOSTREAM_EOL_LF},
	    {IOSTREAM_TOO_LONG, "0123456789", 0, IOSTREAM_EOL_CRLF},
	    {IOSTREAM_OK, "next", 0, IOSTREAM_EOL_CRLF},
	    {IOSTREAM_TOO_LONG, "0123456789", 0, IOSTREAM_EOL_LF},
	    {IOSTREAM_TOO_LONG, "0123456789", 0, IOSTREAM_EOL_CRLF},
	    {IOSTREAM_TOO_LONG, "0123456789", 0, IOSTREAM_EOL_CRLF},
	    {IOSTREAM_OK, "after", 0, IOSTREAM_EOL_CRLF},
	    {IOSTREAM_EOF, "", 0, IOSTREAM_EOL_NONE},
	};

	run_table(input, sizeof(input) - 1, 10, false, want, ARRAY_SIZE(want));
}
END_TEST

START_TEST(test_lines_very_long)
{
	/* A line far beyond the buffer is thrown away through its end. */
	size_t n = 70000;
	char *input = xmalloc(n + 32);
	size_t len;
	struct want_line want[] = {
	    {IOSTREAM_TOO_LONG, NULL, 0, IOSTREAM_EOL_CRLF},
	    {IOSTREAM_OK, "short", 0, IOSTREAM_EOL_LF},
	    {IOSTREAM_EOF, "", 0, IOSTREAM_EOL_NONE},
	};

	for (size_t i = 0; i < n; i++)
		input[i] = (char)('a' + i % 26);
	memcpy(input + n, "\r\nshort\n", 8);
	len = n + 8;
	want[0].data = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwx"; /* 50 */
	run_table(input, len, 50, false, want, ARRAY_SIZE(want));
	free(input);
}
END_TEST

START_TEST(test_lines_parts)
{
	/* Parts of at most 4 bytes; a CR is never cut from its LF. */
	static const char input[] = "abcdefghij\r\n"
	                            "abcd\r\n"
	                            "abcde\r\n"
	                            "abc\rdef\n"
	                            "ab\r\n"
	                            "abcd\r\r\n"
	                            "tail";
	static const struct want_line want[] = {
	    {IOSTREAM_OK, "abcd", 0, IOSTREAM_EOL_NONE},
	    {IOSTREAM_OK, "efgh", 0, IOSTREAM_EOL_NONE},
	    {IOSTREAM_OK, "ij", 0, IOSTREAM_EOL_CRLF},
	    {IOSTREAM_OK, "abcd", 0, IOSTREAM_EOL_CRLF},
	    {IOSTREAM_OK, "abcd", 0, IOSTREAM_EOL_NONE},
	    {IOSTREAM_OK, "e", 0, IOSTREAM_EOL_CRLF},
	    {IOSTREAM_OK, "abc\r", 0, IOSTREAM_EOL_NONE},
	    {IOSTREAM_OK, "def", 0, IOSTREAM_EOL_LF},
	    {IOSTREAM_OK, "ab", 0, IOSTREAM_EOL_CRLF},
	    {IOSTREAM_OK, "abcd", 0, IOSTREAM_EOL_NONE},
	    {IOSTREAM_OK, "\r", 0, IOSTREAM_EOL_CRLF},
	    {IOSTREAM_EOF, "tail", 0, IOSTREAM_EOL_NONE},
	};

	run_table(input, sizeof(input) - 1, 4, true, want, ARRAY_SIZE(want));
}
END_TEST

START_TEST(test_read_timeout)
{
	struct iostream *s;
	struct iostream_line line;
	int sv[2];
	int64_t t0;

	pair(sv);
	s = iostream_create(sv[0]);
	iostream_set_timeouts(s, 200, 200);
	t0 = monotonic_ms();
	ck_assert_int_eq(iostream_read_line(s, 100, &line), IOSTREAM_TIMEOUT);
	ck_assert_int_ge(monotonic_ms() - t0, 190);
	ck_assert_ptr_nonnull(strstr(iostream_error(s), "timed out"));

	/* A partial line stays buffered across a timeout. */
	ck_assert_int_eq(write(sv[1], "par", 3), 3);
	ck_assert_int_eq(iostream_read_line(s, 100, &line), IOSTREAM_TIMEOUT);
	ck_assert_int_eq(write(sv[1], "tial\r\n", 6), 6);
	ck_assert_int_eq(iostream_read_line(s, 100, &line), IOSTREAM_OK);
	ck_assert_str_eq(line.data, "partial");

	/* The absolute deadline wins over a longer per-call timeout. */
	iostream_set_timeouts(s, 10000, 10000);
	iostream_set_deadline(s, monotonic_ms() + 200);
	t0 = monotonic_ms();
	ck_assert_int_eq(iostream_read_line(s, 100, &line), IOSTREAM_TIMEOUT);
	ck_assert_int_ge(monotonic_ms() - t0, 190);
	ck_assert_int_lt(monotonic_ms() - t0, 9000);
	ck_assert_ptr_nonnull(strstr(iostream_error(s), "deadline"));
	iostream_destroy(&s);
	close(sv[1]);
}
END_TEST

START_TEST(test_slow_drip_deadline)
{
	/* One byte every 50 ms never lets a single wait time out, but the line
	 * as a whole must arrive within the read timeout. */
	static const char input[] = "0123456789012345678901234567890123456789\r\n";
	struct iostream *s;
	struct iostream_line line;
	struct feeder f;
	int sv[2];

	pair(sv);
	s = iostream_create(sv[0]);
	iostream_set_timeouts(s, 300, 300);
	feed(&f, sv[1], input, sizeof(input) - 1, 1, false, 50000);
	ck_assert_int_eq(iostream_read_line(s, 100, &line), IOSTREAM_TIMEOUT);
	pthread_join(f.tid, NULL);
	iostream_destroy(&s);
	close(sv[1]);
}
END_TEST

struct closer {
	int fd;
	int delay_ms;
};

static void *closer_main(void *arg)
{
	struct closer *c = arg;

	usleep((useconds_t)c->delay_ms * 1000);
	close(c->fd);
	return NULL;
}

START_TEST(test_interrupt)
{
	struct iostream *s;
	struct iostream_line line;
	struct closer c;
	pthread_t tid;
	int sv[2], stop[2];
	int64_t t0;

	pair(sv);
	ck_assert_int_eq(pipe(stop), 0);
	s = iostream_create(sv[0]);
	iostream_set_timeouts(s, 10000, 10000);
	iostream_set_interrupt_fd(s, stop[0]);
	ck_assert_int_eq(write(sv[1], "one\r\n", 5), 5);
	ck_assert_int_eq(iostream_read_line(s, 100, &line), IOSTREAM_OK);

	/* Idle: closing the stop pipe wakes the read. */
	c.fd = stop[1];
	c.delay_ms = 100;
	t0 = monotonic_ms();
	pthread_create(&tid, NULL, closer_main, &c);
	ck_assert_int_eq(iostream_read_line(s, 100, &line), IOSTREAM_INTERRUPTED);
	ck_assert_int_lt(monotonic_ms() - t0, 5000);
	pthread_join(tid, NULL);

	/* Mid-line, a stop does not cut the transfer. */
	iostream_set_timeouts(s, 200, 200);
	ck_assert_int_eq(write(sv[1], "half", 4), 4);
	ck_assert_int_eq(iostream_read_line(s, 100, &line), IOSTREAM_TIMEOUT);
	ck_assert_int_eq(write(sv[1], "\r\n", 2), 2);
	ck_assert_int_eq(iostream_read_line(s, 100, &line), IOSTREAM_OK);
	ck_assert_str_eq(line.data, "half");
	iostream_destroy(&s);
	close(sv[1]);
	close(stop[0]);
}
END_TEST

START_TEST(test_read_exact)
{
	size_t sizes[] = {1, 4095, 4096, 4097, 10000, 100000};

	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		size_t n = sizes[k], total = 6 + n + 7;
		char *input = xmalloc(total), *got = xmalloc(n);
		struct iostream *s;
		struct iostream_line line;
		struct feeder f;
		int sv[2];

		memcpy(input, "BDAT\r\n", 6);
		for (size_t i = 0; i < n; i++)
			input[6 + i] = (char)(i * 7 + k);
		memcpy(input + 6 + n, "after\r\n", 7);
		pair(sv);
		s = iostream_create(sv[0]);
		iostream_set_timeouts(s, 10000, 10000);
		feed(&f, sv[1], input, total, k % 2 == 0 ? 1000 : 3, true, 0);
		ck_assert_int_eq(iostream_read_line(s, 100, &line), IOSTREAM_OK);
		ck_assert_str_eq(line.data, "BDAT");
		ck_assert_int_eq(iostream_read_exact(s, got, n), IOSTREAM_OK);
		ck_assert_msg(memcmp(got, input + 6, n) == 0, "data differs at size %zu", n);
		ck_assert_int_eq(iostream_read_line(s, 100, &line), IOSTREAM_OK);
		ck_assert_str_eq(line.data, "after");
		/* Short of bytes at EOF. */
		ck_assert_int_eq(iostream_read_exact(s, got, 1), IOSTREAM_EOF);
		pthread_join(f.tid, NULL);
		iostream_destroy(&s);
		free(input);
		free(got);
	}
}
END_TEST

START_TEST(test_read_some)
{
	struct iostream *s;
	struct iostream_line line;
	char buf[64];
	size_t got;
	int sv[2];

	pair(sv);
	s = iostream_create(sv[0]);
	iostream_set_timeouts(s, 200, 200);
	ck_assert_int_eq(write(sv[1], "L\r\nabcdef", 9), 9);
	ck_assert_int_eq(iostream_read_line(s, 100, &line), IOSTREAM_OK);
	ck_assert_uint_eq(iostream_pending(s), 6);
	ck_assert_int_eq(iostream_read_some(s, buf, 4, &got), IOSTREAM_OK);
	ck_assert_uint_eq(got, 4);
	ck_assert_int_eq(memcmp(buf, "abcd", 4), 0);
	ck_assert_int_eq(iostream_read_some(s, buf, sizeof(buf), &got), IOSTREAM_OK);
	ck_assert_uint_eq(got, 2);
	ck_assert_int_eq(iostream_read_some(s, buf, sizeof(buf), &got), IOSTREAM_TIMEOUT);
	close(sv[1]);
	ck_assert_int_eq(iostream_read_some(s, buf, sizeof(buf), &got), IOSTREAM_EOF);
	iostream_destroy(&s);
}
END_TEST

static char *read_all(int fd, size_t want)
{
	char *buf = xmalloc(want + 1);
	size_t got = 0;

	while (got < want) {
		ssize_t n = read(fd, buf + got, want - got);
		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
	buf[got] = '\0';
	return buf;
}

START_TEST(test_write_buffered)
{
	struct iostream *s;
	char big[IOSTREAM_WRITE_BUFFER * 2];
	char *got;
	int sv[2];

	signal(SIGPIPE, SIG_IGN);
	pair(sv);
	s = iostream_create(sv[0]);
	iostream_set_timeouts(s, 1000, 1000);
	ck_assert_int_eq(iostream_printf(s, "250-%s\r\n", "first"), IOSTREAM_OK);
	ck_assert_int_eq(iostream_write_str(s, "250 second\r\n"), IOSTREAM_OK);
	ck_assert_uint_eq(iostream_unflushed(s), 23);
	ck_assert_int_eq(iostream_flush(s), IOSTREAM_OK);
	ck_assert_uint_eq(iostream_unflushed(s), 0);
	got = read_all(sv[1], 23);
	ck_assert_str_eq(got, "250-first\r\n250 second\r\n");
	free(got);

	/* A printf larger than the buffer, after some buffered bytes. */
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(iostream_write_str(s, "x"), IOSTREAM_OK);
	ck_assert_int_eq(iostream_printf(s, "%s!", big), IOSTREAM_OK);
	ck_assert_int_eq(iostream_flush(s), IOSTREAM_OK);
	got = read_all(sv[1], sizeof(big) + 1);
	ck_assert_int_eq(got[0], 'x');
	ck_assert_int_eq(memcmp(got + 1, big, sizeof(big) - 1), 0);
	ck_assert_int_eq(got[sizeof(big)], '!');
	free(got);

	/* The peer gone: the error sticks. */
	close(sv[1]);
	ck_assert_int_eq(iostream_write_str(s, "lost\r\n"), IOSTREAM_OK);
	ck_assert_int_eq(iostream_flush(s), IOSTREAM_ERROR);
	ck_assert_int_eq(iostream_write_str(s, "more"), IOSTREAM_ERROR);
	ck_assert_int_eq(iostream_flush(s), IOSTREAM_ERROR);
	iostream_destroy(&s);
}
END_TEST

START_TEST(test_write_lent_buffer)
{
	/* A larger buffer for a while: writes stay buffered up to it, shrinking flushes. */
	size_t big = IOSTREAM_WRITE_BUFFER * 4, n = 0;
	char *data = xmalloc(big), *got;
	struct iostream *s;
	int sv[2];

	signal(SIGPIPE, SIG_IGN);
	pair(sv);
	s = iostream_create(sv[0]);
	iostream_set_timeouts(s, 1000, 1000);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)('a' + i % 26);
	ck_assert_int_eq(iostream_write_str(s, "head"), IOSTREAM_OK);
	ck_assert_int_eq(iostream_set_write_buffer(s, big), IOSTREAM_OK);
	ck_assert_uint_eq(iostream_unflushed(s), 4); /* kept across the switch */
	/* 4 KiB at a time, as FETCH sends messages: nothing goes out until it is full */
	while (n + 4096 <= big - 4) {
		ck_assert_int_eq(iostream_write(s, data + n, 4096), IOSTREAM_OK);
		n += 4096;
	}
	ck_assert_uint_eq(iostream_unflushed(s), 4 + n);
	/* back to its own buffer: what no longer fits is sent first */
	ck_assert_int_eq(iostream_set_write_buffer(s, 0), IOSTREAM_OK);
	ck_assert_uint_eq(iostream_unflushed(s), 0);
	got = read_all(sv[1], 4 + n);
	ck_assert_int_eq(memcmp(got, "head", 4), 0);
	ck_assert_int_eq(memcmp(got + 4, data, n), 0);
	free(got);
	/* a lent buffer with little in it moves back without a flush */
	ck_assert_int_eq(iostream_set_write_buffer(s, big), IOSTREAM_OK);
	ck_assert_int_eq(iostream_write_str(s, "tail\r\n"), IOSTREAM_OK);
	ck_assert_int_eq(iostream_set_write_buffer(s, 0), IOSTREAM_OK);
	ck_assert_uint_eq(iostream_unflushed(s), 6);
	ck_assert_int_eq(iostream_flush(s), IOSTREAM_OK);
	got = read_all(sv[1], 6);
	ck_assert_str_eq(got, "tail\r\n");
	free(got);
	/* destroyed while lent: freed (ASan checks) */
	ck_assert_int_eq(iostream_set_write_buffer(s, big), IOSTREAM_OK);
	ck_assert_int_eq(iostream_write(s, data, 100), IOSTREAM_OK);
	iostream_destroy(&s);
	close(sv[1]);
	free(data);
}
END_TEST

START_TEST(test_write_deadline)
{
	/* A peer that never reads: the write gives up at its deadline. */
	size_t n = 8 * 1024 * 1024;
	char *data = xcalloc(1, n);
	struct iostream *s;
	int sv[2], small = 4096;
	int64_t t0;

	pair(sv);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	s = iostream_create(sv[0]);
	iostream_set_timeouts(s, 200, 200);
	t0 = monotonic_ms();
	ck_assert_int_eq(iostream_write(s, data, n), IOSTREAM_TIMEOUT);
	ck_assert_int_ge(monotonic_ms() - t0, 190);
	ck_assert_int_lt(monotonic_ms() - t0, 9000);
	ck_assert_int_eq(iostream_write_str(s, "x"), IOSTREAM_TIMEOUT);
	ck_assert_int_eq(iostream_flush(s), IOSTREAM_TIMEOUT);
	iostream_destroy(&s);
	close(sv[1]);
	free(data);
}
END_TEST

START_TEST(test_connect)
{
	struct iostream *s = NULL;
	const char *error;
	int lfd, cfd;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	char port[16];
	struct iostream_line line;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	getsockname(lfd, (struct sockaddr *)&sin, &len);
	snprintf(port, sizeof(port), "%u", ntohs(sin.sin_port));
	ck_assert_int_eq(iostream_connect_tcp("127.0.0.1", port, 2000, &s, &error), 0);
	cfd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(cfd, 0);
	ck_assert_int_eq(write(cfd, "220 hi\r\n", 8), 8);
	ck_assert_int_eq(iostream_read_line(s, 100, &line), IOSTREAM_OK);
	ck_assert_str_eq(line.data, "220 hi");
	iostream_destroy(&s);
	close(cfd);
	close(lfd);

	/* Nobody listening now. */
	ck_assert_int_eq(iostream_connect_tcp("127.0.0.1", port, 2000, &s, &error), -1);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(error, "refused"));
	ck_assert_int_eq(iostream_connect_unix("/nonexistent/sock", 2000, &s, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "/nonexistent/sock"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("iostream");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_lines_basic);
	tcase_add_test(tc, test_lines_limit);
	tcase_add_test(tc, test_lines_very_long);
	tcase_add_test(tc, test_lines_parts);
	tcase_add_test(tc, test_read_timeout);
	tcase_add_test(tc, test_slow_drip_deadline);
	tcase_add_test(tc, test_interrupt);
	tcase_add_test(tc, test_read_exact);
	tcase_add_test(tc, test_read_some);
	tcase_add_test(tc, test_write_buffered);
	tcase_add_test(tc, test_write_lent_buffer);
	tcase_add_test(tc, test_write_deadline);
	tcase_add_test(tc, test_connect);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
