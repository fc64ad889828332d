/*
 * test_log.c - log lines: fields sanitized, capped and quoted; the
 * asynchronous syslog writer against a datagram socket of the test's own
 * (RFC 3164 framing, order, nothing lost while the reader keeps up,
 * drops counted and reported when it does not, everything flushed at
 * stop, many threads logging at once and while it stops); the stderr
 * form.  Each test runs in its own process (Check's
 * fork mode): the log module keeps process-wide state.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_log
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "configfile.h"
#include "log.h"

#define DGRAM_MAX (LOG_LINE_MAX + 256)

static char dir[64];
static char sock_path[100]; /* fits sun_path */

/* sink_open - a datagram socket at a fresh path, for the writer. */
static int
sink_open(void)
{
	struct sockaddr_un sun;
	int fd, big = 1 << 22;

	snprintf(dir, sizeof(dir), "/tmp/test_log.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/log", dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	return fd;
}

static void
sink_close(int fd)
{
	close(fd);
	unlink(sock_path);
	rmdir(dir);
}

/* sink_read - one datagram, NUL-terminated; -1 when none within 2 s. */
static ssize_t
sink_read(int fd, char *buf, size_t len)
{
	struct timeval tv = {2, 0};
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(fd, buf, len - 1, 0);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* body - the text after "<PRI>Mmm dd hh:mm:ss ident[pid]: ". */
static const char *
body(const char *dgram, const char *ident)
{
	char tag[96];
	const char *p;

	snprintf(tag, sizeof(tag), " %s[%ld]: ", ident, (long)getpid());
	p = strstr(dgram, tag);
	ck_assert_msg(p != NULL, "no tag in '%s'", dgram);
	return p + strlen(tag);
}

/* start - syslog to a fresh sink, writer running. */
static int
start(const char *ident)
{
	char err[256];
	int fd = sink_open();

	ck_assert_int_eq(log_open(ident, "mail", true, err, sizeof(err)), 0);
	ck_assert_int_eq(log_set_socket(sock_path), 0);
	ck_assert_int_eq(log_start_async(err, sizeof(err)), 0);
	return fd;
}

START_TEST(test_fields)
{
	struct log_line line;
	char big[LOG_FIELD_MAX * 2];

	log_line_init(&line);
	log_field(&line, "sender", "a\r\nb@example.com");
	log_field(&line, "empty", "");
	log_field(&line, "sp", "two words");
	log_field(&line, "q", "say \"hi\"=1");
	log_field_text(&line, "reason", "already \\x0a escaped");
	log_field_len(&line, "bin", (const unsigned char *)"x\0y\x80", 4);
	ck_assert_str_eq(
	    line.buf,
	    "sender=a\\x0d\\x0ab@example.com empty=\"\" sp=\"two words\" "
	    "q=\"say \\\"hi\\\"=1\" reason=\"already \\x0a escaped\" "
	    "bin=x\\x00y\\x80");
	ck_assert_uint_eq(line.len, strlen(line.buf));

	/* a value is capped at LOG_FIELD_MAX, with "..." */
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_line_init(&line);
	log_field(&line, "v", big);
	ck_assert_uint_eq(line.len, strlen("v=") + LOG_FIELD_MAX - 1);
	ck_assert_str_eq(line.buf + line.len - 3, "...");

	/* text that is not printable goes through the sanitizer */
	log_line_init(&line);
	log_field_text(&line, "t", "bad\x1b[31m");
	ck_assert_str_eq(line.buf, "t=bad\\x1b[31m");

	/* a line is cut at a field, never inside one: k whole fields of
	 * " field=" and a capped value, the first without the space */
	log_line_init(&line);
	for (int i = 0; i < 40; i++)
		log_field(&line, "field", big);
	ck_assert_uint_lt(line.len, LOG_LINE_MAX);
	ck_assert_uint_eq(
	    (line.len + 1) % (strlen(" field=") + LOG_FIELD_MAX - 1), 0);
	ck_assert_str_eq(line.buf + line.len - 3, "...");
}
END_TEST

START_TEST(test_async_order_and_framing)
{
	int fd = start("ar-test");
	char buf[DGRAM_MAX], want[64];
	struct log_line line;

	log_line_init(&line);
	log_field(&line, "event", "first");
	log_emit(LOG_INFO, &line);
	ck_assert_int_gt(sink_read(fd, buf, sizeof(buf)), 0);
	/* <mail.info> = 2 * 8 + 6 */
	ck_assert_msg(strncmp(buf, "<22>", 4) == 0, "'%s'", buf);
	ck_assert_str_eq(body(buf, "ar-test"), "event=first");
	log_msg(LOG_WARNING, "event=w n=%d", 7);
	ck_assert_int_gt(sink_read(fd, buf, sizeof(buf)), 0);
	ck_assert_msg(strncmp(buf, "<20>", 4) == 0, "'%s'", buf);
	ck_assert_str_eq(body(buf, "ar-test"), "event=w n=7");

	/* many lines, read as they come: all arrive, in order */
	for (int i = 0; i < 3000; i++) {
		log_msg(LOG_INFO, "seq=%d", i);
		if (i % 100 == 99) {
			for (int k = i - 99; k <= i; k++) {
				ck_assert_int_gt(
				    sink_read(fd, buf, sizeof(buf)), 0);
				snprintf(want, sizeof(want), "seq=%d", k);
				ck_assert_str_eq(body(buf, "ar-test"), want);
			}
		}
	}
	log_stop();
	sink_close(fd);
}
END_TEST

/* switches - voluntary context switches of the whole process so far. */
static long
switches(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_nvcsw;
}

START_TEST(test_idle_writer_sleeps)
{
	int fd = start("ar-idle");
	char buf[DGRAM_MAX];
	struct timespec nap = {0, 400 * 1000000L};
	long before, after;

	/* a line, so the writer has run; then 400 ms with nothing to log */
	log_msg(LOG_INFO, "event=one");
	ck_assert_int_gt(sink_read(fd, buf, sizeof(buf)), 0);
	nanosleep(&nap, NULL); /* the writer goes back to sleep */
	before = switches();
	nanosleep(&nap, NULL);
	after = switches();
	/* our own sleep is one; a writer napping every 10 ms would add 40 */
	ck_assert_msg(after - before <= 5, "%ld context switches while idle",
	              after - before);
	/* and the next line still goes out at once */
	log_msg(LOG_INFO, "event=two");
	ck_assert_int_gt(sink_read(fd, buf, sizeof(buf)), 0);
	ck_assert_str_eq(body(buf, "ar-idle"), "event=two");
	log_stop();
	sink_close(fd);
}
END_TEST

/* drain_ctx - the reader of test_drops, started late. */
struct drain_ctx {
	int fd;
	int lines, dropped_reported, last_seq;
	bool in_order;
};

static void *
drain(void *arg)
{
	struct drain_ctx *c = arg;
	char buf[DGRAM_MAX];
	int seq, n;

	while (sink_read(c->fd, buf, sizeof(buf)) > 0) {
		const char *b = body(buf, "ar-drop");

		if (sscanf(b, "event=log-dropped lines=%d", &n) == 1) {
			c->dropped_reported += n;
		} else if (sscanf(b, "seq=%d", &seq) == 1) {
			if (seq <= c->last_seq)
				c->in_order = false;
			c->last_seq = seq;
			c->lines++;
		}
	}
	return NULL;
}

START_TEST(test_drops_counted_and_reported)
{
	struct drain_ctx c = {.last_seq = -1, .in_order = true};
	const int total = 20000;
	pthread_t t;

	c.fd = start("ar-drop");
	/* nobody reads yet: the socket queue fills, the writer waits, the
	 * ring fills, and lines are dropped instead of blocking us */
	for (int i = 0; i < total; i++)
		log_msg(LOG_INFO, "seq=%d", i);
	ck_assert_int_eq(pthread_create(&t, NULL, drain, &c), 0);
	log_stop(); /* flushes what the ring holds */
	pthread_join(t, NULL);
	ck_assert(c.in_order);
	ck_assert_int_gt(c.dropped_reported, 0);
	ck_assert_int_eq(c.lines + c.dropped_reported, total);
	sink_close(c.fd);
}
END_TEST

/* Many producers at once: the ring takes no lock, so each thread's lines
 * must still arrive whole, in its own order, and be counted when lost. */
#define PRODUCERS 8
#define PER_PRODUCER 5000

struct producer_ctx {
	int id;
	int count;
};

static void *
produce(void *arg)
{
	const struct producer_ctx *p = arg;

	for (int i = 0; i < p->count; i++)
		log_msg(LOG_INFO, "t=%d seq=%d pad=%0*d", p->id, i, 40 + p->id,
		        i);
	return NULL;
}

struct mp_drain_ctx {
	int fd;
	int lines, dropped_reported, torn;
	int last_seq[PRODUCERS];
	bool in_order;
};

static void *
mp_drain(void *arg)
{
	struct mp_drain_ctx *c = arg;
	char buf[DGRAM_MAX], want[128];
	int t, seq, n;

	while (sink_read(c->fd, buf, sizeof(buf)) > 0) {
		const char *b = body(buf, "ar-mp");

		if (sscanf(b, "event=log-dropped lines=%d", &n) == 1) {
			c->dropped_reported += n;
			continue;
		}
		if (sscanf(b, "t=%d seq=%d", &t, &seq) != 2 || t < 0 ||
		    t >= PRODUCERS) {
			c->torn++;
			continue;
		}
		snprintf(want, sizeof(want), "t=%d seq=%d pad=%0*d", t, seq,
		         40 + t, seq);
		if (strcmp(b, want) != 0)
			c->torn++;
		if (seq <= c->last_seq[t])
			c->in_order = false;
		c->last_seq[t] = seq;
		c->lines++;
	}
	return NULL;
}

/* start_producers - the writer, a reader of the sink and PRODUCERS
 * threads logging PER_PRODUCER lines each, all running. */
static void
start_producers(struct mp_drain_ctx *c, pthread_t *drainer,
                struct producer_ctx p[PRODUCERS], pthread_t t[PRODUCERS])
{
	for (int i = 0; i < PRODUCERS; i++)
		c->last_seq[i] = -1;
	c->fd = start("ar-mp");
	ck_assert_int_eq(pthread_create(drainer, NULL, mp_drain, c), 0);
	for (int i = 0; i < PRODUCERS; i++) {
		p[i].id = i;
		p[i].count = PER_PRODUCER;
		ck_assert_int_eq(pthread_create(&t[i], NULL, produce, &p[i]),
		                 0);
	}
}

START_TEST(test_many_producers)
{
	struct mp_drain_ctx c = {.in_order = true};
	struct producer_ctx p[PRODUCERS];
	pthread_t drainer, t[PRODUCERS];

	start_producers(&c, &drainer, p, t);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(t[i], NULL);
	log_stop(); /* everything queued goes out before it returns */
	pthread_join(drainer, NULL);
	ck_assert_int_eq(c.torn, 0);
	ck_assert(c.in_order);
	ck_assert_int_eq(c.lines + c.dropped_reported,
	                 PRODUCERS * PER_PRODUCER);
	ck_assert_int_gt(c.lines, 0);
	sink_close(c.fd);
}
END_TEST

/* log_stop() while threads still log: nothing crashes or hangs, and what
 * arrives is whole and in order (lines after the stop go to syslog(3)). */
START_TEST(test_stop_while_logging)
{
	struct mp_drain_ctx c = {.in_order = true};
	struct producer_ctx p[PRODUCERS];
	pthread_t drainer, t[PRODUCERS];
	struct timespec ms = {0, 5 * 1000000L};

	start_producers(&c, &drainer, p, t);
	nanosleep(&ms, NULL);
	log_stop();
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(t[i], NULL);
	pthread_join(drainer, NULL);
	ck_assert_int_eq(c.torn, 0);
	ck_assert(c.in_order);
	ck_assert_int_le(c.lines + c.dropped_reported,
	                 PRODUCERS * PER_PRODUCER);
	sink_close(c.fd);
}
END_TEST

START_TEST(test_no_daemon_then_daemon)
{
	char err[256], buf[DGRAM_MAX];
	int fd;

	/* no socket at the path: nothing blocks or fails */
	ck_assert_int_eq(log_open("ar-late", "local3", true, err, sizeof(err)),
	                 0);
	snprintf(sock_path, sizeof(sock_path), "/tmp/test_log.none.%ld",
	         (long)getpid());
	ck_assert_int_eq(log_set_socket(sock_path), 0);
	ck_assert_int_eq(log_start_async(err, sizeof(err)), 0);
	log_msg(LOG_INFO, "event=lost");
	/* the daemon comes up at that path: the writer reconnects */
	{
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
		fd = socket(AF_UNIX, SOCK_DGRAM, 0);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)),
		                 0);
	}
	log_msg(LOG_ERR, "event=found");
	/* The writer may not have taken the first line before the socket
	 * appeared (a loaded machine): then it arrives, first and intact. */
	ck_assert_int_gt(sink_read(fd, buf, sizeof(buf)), 0);
	if (strstr(buf, "event=lost") != NULL) {
		ck_assert_str_eq(body(buf, "ar-late"), "event=lost");
		ck_assert_int_gt(sink_read(fd, buf, sizeof(buf)), 0);
	}
	/* <local3.err> = 19 * 8 + 3 */
	ck_assert_msg(strncmp(buf, "<155>", 5) == 0, "'%s'", buf);
	ck_assert_str_eq(body(buf, "ar-late"), "event=found");
	log_stop();
	close(fd);
	unlink(sock_path);
}
END_TEST

START_TEST(test_bad_arguments)
{
	char err[256], longpath[200];

	ck_assert_int_eq(log_open("x", "nosuch", true, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "nosuch"));
	ck_assert_int_eq(config_facility("LOCAL7"), LOG_LOCAL7);
	ck_assert_int_eq(config_facility("kern"), -1);
	ck_assert_int_eq(log_set_socket(""), -1);
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	ck_assert_int_eq(log_set_socket(longpath), -1);
	/* with stderr logging there is no writer to start */
	ck_assert_int_eq(log_open("x", "mail", false, err, sizeof(err)), 0);
	ck_assert_int_eq(log_start_async(err, sizeof(err)), 0);
	log_stop();
}
END_TEST

START_TEST(test_stderr_form)
{
	char err[256], buf[512];
	FILE *f = tmpfile();
	size_t n;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(dup2(fileno(f), STDERR_FILENO), STDERR_FILENO);
	ck_assert_int_eq(log_open("ar-err", "mail", false, err, sizeof(err)),
	                 0);
	log_msg(LOG_WARNING, "event=x v=%s", "a\nb");
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	/* 2026-11-27T03:32:06.123Z ar-err: warning: event=x v=a\x0ab */
	ck_assert_msg(n > 25 && buf[4] == '-' && buf[10] == 'T' &&
	                  buf[23] == 'Z',
	              "'%s'", buf);
	ck_assert_str_eq(buf + 24, " ar-err: warning: event=x v=a\\x0ab\n");
	fclose(f);
}
END_TEST

static _Atomic int lossless_logged;

static void *
lossless_producer(void *arg)
{
	int total = (int)(long)arg;

	for (int i = 0; i < total; i++) {
		log_msg(LOG_INFO, "seq=%d", i);
		atomic_store(&lossless_logged, i + 1);
	}
	return NULL;
}

START_TEST(test_lossless_syslog_waits)
{
	struct drain_ctx c = {.last_seq = -1, .in_order = true};
	const int total = 20000;
	char err[256];
	pthread_t t, p;

	c.fd = sink_open();
	ck_assert_int_eq(log_open("ar-drop", "mail", true, err, sizeof(err)),
	                 0);
	ck_assert_int_eq(log_set_socket(sock_path), 0);
	ck_assert_int_eq(log_start_async_lossless(err, sizeof(err)), 0);
	/* as the test above, nobody reads at first: the socket queue fills,
	 * then the ring, and the producer waits for room instead of
	 * dropping; the reader starts once half a ring is logged */
	ck_assert_int_eq(
	    pthread_create(&p, NULL, lossless_producer, (void *)(long)total),
	    0);
	while (atomic_load(&lossless_logged) < 512)
		sched_yield();
	ck_assert_int_eq(pthread_create(&t, NULL, drain, &c), 0);
	pthread_join(p, NULL);
	log_stop();
	pthread_join(t, NULL);
	ck_assert(c.in_order);
	ck_assert_int_eq(c.dropped_reported, 0);
	ck_assert_int_eq(c.lines, total);
	sink_close(c.fd);
}
END_TEST

#define STDERR_THREADS 3
#define STDERR_LINES 3000 /* each: the three fill the ring many times */

static void *
stderr_producer(void *arg)
{
	int t = (int)(long)arg;

	for (int i = 0; i < STDERR_LINES; i++)
		log_msg(LOG_INFO, "event=t thread=%d n=%d", t, i);
	return NULL;
}

START_TEST(test_stderr_async_all_lines)
{
	char err[256], line[512];
	pthread_t th[STDERR_THREADS];
	int next[STDERR_THREADS] = {0}, t, i, total = 0;
	FILE *f = tmpfile();

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(dup2(fileno(f), STDERR_FILENO), STDERR_FILENO);
	ck_assert_int_eq(log_open("ar-as", "mail", false, err, sizeof(err)), 0);
	ck_assert_int_eq(log_start_async_lossless(err, sizeof(err)), 0);
	for (t = 0; t < STDERR_THREADS; t++)
		ck_assert_int_eq(pthread_create(&th[t], NULL, stderr_producer,
		                                (void *)(long)t),
		                 0);
	for (t = 0; t < STDERR_THREADS; t++)
		pthread_join(th[t], NULL);
	log_msg(LOG_WARNING, "event=last v=%s", "a\nb");
	log_stop(); /* everything queued is written */
	rewind(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		ck_assert_msg(strlen(line) > 25 && line[4] == '-' &&
		                  line[10] == 'T' && line[23] == 'Z',
		              "'%s'", line);
		if (strcmp(line + 24, " ar-as: warning: event=last "
		                      "v=a\\x0ab\n") == 0) {
			ck_assert_int_eq(total, STDERR_THREADS * STDERR_LINES);
			total = -1;
			continue;
		}
		ck_assert_int_ne(total, -1); /* nothing after the last */
		ck_assert_int_eq(sscanf(line + 24,
		                        " ar-as: info: event=t thread=%d n=%d",
		                        &t, &i),
		                 2);
		ck_assert(t >= 0 && t < STDERR_THREADS);
		ck_assert_int_eq(i, next[t]); /* each thread's in order */
		next[t]++;
		total++;
	}
	ck_assert_int_eq(total, -1);
	fclose(f);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_async_order_and_framing);
	tcase_add_test(tc, test_drops_counted_and_reported);
	tcase_add_test(tc, test_idle_writer_sleeps);
	tcase_add_test(tc, test_many_producers);
	tcase_add_test(tc, test_stop_while_logging);
	tcase_add_test(tc, test_no_daemon_then_daemon);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_stderr_form);
	tcase_add_test(tc, test_stderr_async_all_lines);
	tcase_add_test(tc, test_lossless_syslog_waits);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
