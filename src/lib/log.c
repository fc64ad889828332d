/*
 * log.c - sanitized, length-capped log lines; see log.h.
 *
 * SYNOPSIS
 *	int log_open(ident, facility, use_syslog, err, errlen);
 *	void log_msg(priority, fmt, ...);
 *	void log_line_init(line);
 *	void log_field(line, key, value);
 *	void log_emit(priority, line);
 *	int log_metrics_register(m, err, errlen);
 *
 * DESCRIPTION
 *	The destination is chosen once at start (before threads), then only
 *	read.  Before log_start_async() lines go through syslog(3); after
 *	it, into a ring that one writer thread drains to /dev/log as RFC
 *	3164 datagrams, up to LOG_BATCH per sendmmsg(2); the writer sleeps
 *	while the ring is empty.  Producers take no lock to queue a line;
 *	only a line that ends a quiet spell (or fills half the ring) takes
 *	the writer's mutex, to wake it.  The ident is
 *	formatted with the PID once, so no line costs a getpid().  On stderr
 *	each line is written with one fwrite under the stream lock.  A
 *	line the full ring cannot take is dropped and counted (one line
 *	says how many; authready_log_lines_dropped_total counts them all).
 *	log_start_async_lossless() queues stderr lines in that ring too
 *	(the writer formats them as log_write() does and writes each batch
 *	with one write(2)), and in both forms a full ring makes the
 *	producer wait for room instead of dropping the line: for a process
 *	whose lines are an audit and which may wait (checkerd).
 */
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "configfile.h"
#include "metrics.h"
#include "sanitize.h"

static const struct {
	int priority;
	const char *name;
} log_priorities[] = {
    {LOG_ERR, "error"}, {LOG_WARNING, "warning"}, {LOG_NOTICE, "notice"},
    {LOG_INFO, "info"}, {LOG_DEBUG, "debug"},
};

#define LOG_RING 1024 /* lines waiting for the writer; a power of 2 */
#define LOG_BATCH 64  /* datagrams per sendmmsg */
#define LOG_WRITER_NAP_NS 10000000 /* the writer looks every 10 ms */
#define LOG_SOCKET "/dev/log"

/* Set once by log_open() before any thread starts. */
static bool log_to_syslog;
static int log_facility = LOG_MAIL;
static char log_ident[64] = "authready";
static char log_tag[96] = "authready"; /* "ident[pid]" */
static char log_socket[sizeof(((struct sockaddr_un *)0)->sun_path)] =
    LOG_SOCKET;

/*
 * The asynchronous writer: a ring of finished lines that producers fill
 * without a lock (a bounded multi-producer queue with a sequence number
 * per slot).  Slot k of lap L holds seq == L * LOG_RING + k when free for
 * that position and seq == position + 1 once its line is written; the
 * writer frees it for the next lap after sending.  A producer claims a
 * position with one compare-and-swap on tail, so decision threads do not
 * wait for each other to log, nor for the writer's sends.
 */
struct log_ring_line {
	_Atomic size_t seq;
	int priority;
	time_t when;
	long msec;  /* of when, for stderr's timestamp */
	size_t len; /* of text, NUL not counted */
	char text[LOG_LINE_MAX];
};

static struct metrics_family log_metric_dropped = {
    .name = "authready_log_lines_dropped_total",
    .help = "Log lines dropped because the ring to syslog was full.",
    .type = METRICS_COUNTER,
};

static struct {
	struct log_ring_line *lines;
	_Atomic size_t tail; /* next position a producer claims */
	_Atomic size_t head; /* oldest position not yet sent (writer's) */
	_Atomic unsigned long dropped;
	_Atomic unsigned inflight; /* producers inside log_queue() */
	_Atomic unsigned waiting;  /* lossless producers waiting for room */
	_Atomic bool running, stop;
	_Atomic bool idle; /* the writer sleeps until a line comes */
	bool to_stderr;    /* set before the writer starts */
	bool lossless;     /* a full ring: wait for room, never drop */
	/* only for sleeping and waking the writer, never for a line */
	pthread_mutex_t lock;
	pthread_cond_t more;
	pthread_cond_t room; /* the writer freed slots (lossless waits) */
	pthread_t thread;
	int fd;
} log_async = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .more = PTHREAD_COND_INITIALIZER,
    .room = PTHREAD_COND_INITIALIZER,
    .fd = -1,
};

int
log_metrics_register(struct metrics *m, char *err, size_t errlen)
{
	return metrics_register(m, &log_metric_dropped, err, errlen);
}

int
log_open(const char *ident, const char *facility, bool use_syslog, char *err,
         size_t errlen)
{
	int fac = config_facility(facility);

	if (fac < 0) {
		snprintf(err, errlen, "unknown syslog facility '%s'", facility);
		return -1;
	}
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	snprintf(log_tag, sizeof(log_tag), "%s[%ld]", ident, (long)getpid());
	log_to_syslog = use_syslog;
	log_facility = fac;
	if (use_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, fac);
	return 0;
}

/* log_connect - (re)open the datagram socket to syslogd. */
static void
log_connect(void)
{
	struct sockaddr_un sun;

	if (log_async.fd >= 0)
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, log_socket, sizeof(log_socket));
	log_async.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (log_async.fd >= 0 &&
	    connect(log_async.fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(log_async.fd);
		log_async.fd = -1;
	}
}

/* log_send - one batch as RFC 3164 datagrams; lost when syslogd is down. */
static void
log_send(const struct log_ring_line *const *batch, size_t n)
{
	/* per datagram: "<PRI>Mmm dd hh:mm:ss " and "tag: ", then the text */
	char heads[LOG_BATCH + 1][160];
	struct mmsghdr msgs[LOG_BATCH + 1];
	struct iovec iov[LOG_BATCH + 1][2];
	char stamp[32] = "";
	time_t stamp_for = (time_t)-1;
	size_t i, sent = 0;

	for (i = 0; i < n; i++) {
		struct tm tm;
		int len;

		/* Lines of one second and priority share one head. */
		if (i > 0 && batch[i]->when == batch[i - 1]->when &&
		    batch[i]->priority == batch[i - 1]->priority) {
			iov[i][0] = iov[i - 1][0];
		} else {
			if (batch[i]->when != stamp_for) {
				stamp_for = batch[i]->when;
				localtime_r(&stamp_for, &tm);
				strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S",
				         &tm);
			}
			len = snprintf(
			    heads[i], sizeof(heads[i]),
			    "<%d>%s %s: ", log_facility | batch[i]->priority,
			    stamp, log_tag);
			iov[i][0].iov_base = heads[i];
			iov[i][0].iov_len = len < 0 ? 0
			                    : (size_t)len < sizeof(heads[i])
			                        ? (size_t)len
			                        : sizeof(heads[i]) - 1;
		}
		iov[i][1].iov_base = (void *)batch[i]->text;
		iov[i][1].iov_len = batch[i]->len;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = iov[i];
		msgs[i].msg_hdr.msg_iovlen = 2;
	}
	while (sent < n) {
		int r;

		log_connect();
		if (log_async.fd < 0)
			return;
		r = sendmmsg(log_async.fd, msgs + sent, (unsigned)(n - sent),
		             0);
		if (r > 0) {
			sent += (size_t)r;
		} else if (r < 0 && errno != EINTR) {
			close(log_async.fd); /* syslogd restarted: reconnect */
			log_async.fd = -1;
			if (errno != ECONNREFUSED && errno != ENOTCONN)
				return;
			log_connect();
			if (log_async.fd < 0)
				return;
		}
	}
}

static const char *log_priority_name(int priority);

/* log_format_stderr - one stderr line ("2026-11-27T03:32:06.123Z ident:
 * priority: text" and a newline) into out (room for LOG_LINE_MAX +
 * LOG_STDERR_HEAD); its length.  Both stderr paths write it. */
#define LOG_STDERR_HEAD 160
static size_t
log_format_stderr(char *out, time_t when, long msec, int priority,
                  const char *text, size_t len)
{
	/* The second's stamp is made once a second per thread: a busy
	 * checker writes hundreds of thousands of lines in a few seconds,
	 * and gmtime_r + strftime + snprintf took more of its CPU than
	 * the lines' own text. */
	static _Thread_local time_t stamp_when = (time_t)-1;
	static _Thread_local char stamp[32];
	static _Thread_local size_t stamp_len;
	const char *prio = log_priority_name(priority);
	size_t n, ilen = strnlen(log_ident, sizeof(log_ident) - 1),
	          plen = strlen(prio);
	struct tm tm;

	if (when != stamp_when) {
		gmtime_r(&when, &tm);
		stamp_len =
		    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		stamp_when = when;
	}
	if (msec < 0 || msec > 999)
		msec = 0;
	/* "stamp.mmmZ ident: priority: " fits: 31 + 6 + 63 + 2 + 8 + 2 */
	memcpy(out, stamp, stamp_len);
	n = stamp_len;
	out[n++] = '.';
	out[n++] = (char)('0' + msec / 100);
	out[n++] = (char)('0' + msec / 10 % 10);
	out[n++] = (char)('0' + msec % 10);
	out[n++] = 'Z';
	out[n++] = ' ';
	memcpy(out + n, log_ident, ilen);
	n += ilen;
	out[n++] = ':';
	out[n++] = ' ';
	memcpy(out + n, prio, plen);
	n += plen;
	out[n++] = ':';
	out[n++] = ' ';
	memcpy(out + n, text, len);
	out[n + len] = '\n';
	return n + len + 1;
}

/* log_send_stderr - one batch to stderr, one write(2) (more only when
 * it is cut short); lost when stderr is gone. */
static void
log_send_stderr(const struct log_ring_line *const *batch, size_t n)
{
	static char buf[(LOG_BATCH + 1) * (LOG_LINE_MAX + LOG_STDERR_HEAD)];
	size_t i, len = 0, off = 0;

	for (i = 0; i < n; i++)
		len += log_format_stderr(buf + len, batch[i]->when,
		                         batch[i]->msec, batch[i]->priority,
		                         batch[i]->text, batch[i]->len);
	while (off < len) {
		ssize_t w = write(STDERR_FILENO, buf + off, len - off);
		struct pollfd out = {STDERR_FILENO, POLLOUT, 0};

		if (w > 0)
			off += (size_t)w;
		else if (w < 0 && errno == EAGAIN)
			(void)poll(&out, 1, 100); /* a non-blocking pipe */
		else if (w < 0 && errno != EINTR)
			return; /* gone (EPIPE, EBADF): nowhere to write */
	}
}

/* log_ready - lines written and not yet sent from position head on, at
 * most max: they end at the first slot whose producer is not done. */
static size_t
log_ready(size_t head, size_t max)
{
	size_t n;

	for (n = 0; n < max; n++) {
		const struct log_ring_line *l =
		    &log_async.lines[(head + n) % LOG_RING];

		if (atomic_load_explicit(&l->seq, memory_order_acquire) !=
		    head + n + 1)
			break;
	}
	return n;
}

/* log_wake - end the writer's sleep or nap. */
static void
log_wake(void)
{
	pthread_mutex_lock(&log_async.lock);
	pthread_cond_signal(&log_async.more);
	pthread_mutex_unlock(&log_async.lock);
}

/*
 * log_writer_wait - nothing to send at head: sleep until a line comes
 * (so an idle daemon does not wake at all: the producer of the first
 * line wakes it), then nap LOG_WRITER_NAP_NS so the lines of that moment
 * go out in one batch.  The nap ends early when the ring is half full,
 * and neither happens at stop.
 *
 * The idle flag is set, then the ring looked at; a producer writes its
 * line, then looks at the flag (a full fence on both sides), so either
 * the writer sees the line or the producer sees the flag and wakes it.
 * The flag is set again before each look: a producer that cleared it
 * may have written a later slot than the one the writer waits for.
 */
static void
log_writer_wait(size_t head)
{
	struct timespec nap;

	pthread_mutex_lock(&log_async.lock);
	/* Look before raising the flag, so that producers do not see it
	 * raised (and take this mutex) when the line is already here. */
	while (log_ready(head, 1) == 0 && !atomic_load(&log_async.stop)) {
		atomic_store(&log_async.idle, true);
		atomic_thread_fence(memory_order_seq_cst);
		if (log_ready(head, 1) > 0 || atomic_load(&log_async.stop))
			break;
		pthread_cond_wait(&log_async.more, &log_async.lock);
	}
	atomic_store(&log_async.idle, false);
	if (!atomic_load(&log_async.stop) &&
	    atomic_load(&log_async.tail) - head < LOG_RING / 2) {
		clock_gettime(CLOCK_REALTIME, &nap);
		nap.tv_nsec += LOG_WRITER_NAP_NS;
		if (nap.tv_nsec >= 1000000000L) {
			nap.tv_sec++;
			nap.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&log_async.more, &log_async.lock, &nap);
	}
	pthread_mutex_unlock(&log_async.lock);
}

/* log_writer_done - at stop, once no producer can add a line and every
 * claimed line is sent. */
static bool
log_writer_done(size_t head)
{
	if (!atomic_load(&log_async.stop))
		return false;
	/* a producer that saw the ring full counts its drop before it
	 * leaves: with none inside, a drop not yet reported still is one */
	if (atomic_load(&log_async.inflight) == 0)
		return atomic_load(&log_async.tail) == head &&
		       atomic_load(&log_async.dropped) == 0;
	{
		/* a producer is finishing its line */
		struct timespec ms = {0, 1000000L};

		nanosleep(&ms, NULL);
	}
	return false;
}

static void *
log_writer(void *arg)
{
	struct log_ring_line note;
	const struct log_ring_line *batch[LOG_BATCH + 1];
	unsigned long dropped;
	size_t head, n, i;

	(void)arg;
	for (;;) {
		head =
		    atomic_load_explicit(&log_async.head, memory_order_relaxed);
		n = log_ready(head, LOG_BATCH);
		dropped = atomic_exchange(&log_async.dropped, 0);
		if (n == 0 && dropped == 0) {
			if (log_writer_done(head))
				break;
			if (!atomic_load(&log_async.stop))
				log_writer_wait(head);
			continue;
		}
		/* The lines are sent from the ring itself: their slots stay
		 * taken until they are given back below. */
		for (i = 0; i < n; i++)
			batch[i] = &log_async.lines[(head + i) % LOG_RING];
		if (dropped > 0) {
			note.priority = LOG_WARNING;
			note.when = time(NULL);
			note.msec = 0;
			note.len = (size_t)snprintf(
			    note.text, sizeof(note.text),
			    "event=log-dropped lines=%lu (syslog too slow)",
			    dropped);
			batch[n] = &note; /* after the slots, not one of them */
		}
		if (log_async.to_stderr)
			log_send_stderr(batch, n + (dropped > 0));
		else
			log_send(batch, n + (dropped > 0));
		for (i = 0; i < n; i++)
			atomic_store_explicit(
			    &log_async.lines[(head + i) % LOG_RING].seq,
			    head + i + LOG_RING, memory_order_release);
		atomic_store_explicit(&log_async.head, head + n,
		                      memory_order_release);
		if (atomic_load(&log_async.waiting) > 0) {
			pthread_mutex_lock(&log_async.lock);
			pthread_cond_broadcast(&log_async.room);
			pthread_mutex_unlock(&log_async.lock);
		}
	}
	return NULL;
}

int
log_set_socket(const char *path)
{
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(log_socket))
		return -1;
	memcpy(log_socket, path, len + 1);
	return 0;
}

/* log_start_writer - the ring and its writer, to stderr or syslog. */
static int
log_start_writer(bool to_stderr, bool lossless, char *err, size_t errlen)
{
	int rc;

	if (atomic_load(&log_async.running))
		return 0;
	log_async.to_stderr = to_stderr;
	log_async.lossless = lossless;
	log_async.lines = calloc(LOG_RING, sizeof(*log_async.lines));
	if (log_async.lines == NULL) {
		snprintf(err, errlen, "out of memory for the log ring");
		return -1;
	}
	for (size_t k = 0; k < LOG_RING; k++)
		atomic_init(&log_async.lines[k].seq, k);
	atomic_store(&log_async.head, 0);
	atomic_store(&log_async.tail, 0);
	atomic_store(&log_async.dropped, 0);
	atomic_store(&log_async.stop, false); /* startable after log_stop() */
	atomic_store(&log_async.idle, false);
	/* The PID may have changed (daemon(3) forks). */
	snprintf(log_tag, sizeof(log_tag), "%s[%ld]", log_ident,
	         (long)getpid());
	if (!to_stderr)
		log_connect();
	if ((rc = pthread_create(&log_async.thread, NULL, log_writer, NULL)) !=
	    0) {
		snprintf(err, errlen, "cannot start the log writer: %s",
		         strerror(rc));
		/* a producer left over from a previous run must not touch
		 * the ring that is about to go: stop, and let it leave */
		atomic_store(&log_async.stop, true);
		while (atomic_load(&log_async.inflight) > 0)
			sched_yield();
		free(log_async.lines);
		log_async.lines = NULL;
		return -1;
	}
	(void)pthread_setname_np(log_async.thread, "ar-log"); /* top -H */
	atomic_store(&log_async.running, true);
	return 0;
}

int
log_start_async(char *err, size_t errlen)
{
	if (!log_to_syslog)
		return 0;
	return log_start_writer(false, false, err, errlen);
}

int
log_start_async_lossless(char *err, size_t errlen)
{
	return log_start_writer(!log_to_syslog, true, err, errlen);
}

void
log_stop(void)
{
	if (!atomic_load(&log_async.running))
		return;
	pthread_mutex_lock(&log_async.lock);
	atomic_store(&log_async.stop, true);
	pthread_cond_signal(&log_async.more);
	pthread_mutex_unlock(&log_async.lock);
	pthread_join(log_async.thread, NULL);
	atomic_store(&log_async.running, false);
	free(log_async.lines);
	log_async.lines = NULL;
	if (log_async.fd >= 0)
		close(log_async.fd);
	log_async.fd = -1;
}

/* log_claim - a free slot's position, or false when the ring is full. */
static bool
log_claim(size_t *posp)
{
	size_t pos =
	    atomic_load_explicit(&log_async.tail, memory_order_relaxed);

	for (;;) {
		const struct log_ring_line *slot =
		    &log_async.lines[pos % LOG_RING];
		size_t seq =
		    atomic_load_explicit(&slot->seq, memory_order_acquire);

		if (seq == pos) {
			if (atomic_compare_exchange_weak_explicit(
			        &log_async.tail, &pos, pos + 1,
			        memory_order_relaxed, memory_order_relaxed)) {
				*posp = pos;
				return true;
			}
		} else if ((ptrdiff_t)(seq - pos) < 0) {
			return false; /* the last lap's line is still there */
		} else {
			pos = atomic_load_explicit(&log_async.tail,
			                           memory_order_relaxed);
		}
	}
}

/* log_wait_room - a lossless producer found the ring full: wake the
 * writer and sleep until it frees slots (it keeps going while a
 * producer is inside, even at stop); at most LOG_WRITER_NAP_NS, then the
 * caller looks again. */
static void
log_wait_room(void)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += LOG_WRITER_NAP_NS;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&log_async.lock);
	atomic_fetch_add(&log_async.waiting, 1);
	pthread_cond_signal(&log_async.more);
	pthread_cond_timedwait(&log_async.room, &log_async.lock, &until);
	atomic_fetch_sub(&log_async.waiting, 1);
	pthread_mutex_unlock(&log_async.lock);
}

/* log_queue - hand a line to the writer; false when not running.  No
 * lock: a claim, a copy, a release store, and a wake-up only when the
 * writer sleeps or the ring is half full. */
static bool
log_queue(int priority, const char *text)
{
	struct log_ring_line *slot;
	size_t len = strnlen(text, LOG_LINE_MAX - 1), pos, backlog;
	bool queued = false;

	/* counted in, so log_stop() waits for this line or we see stop */
	atomic_fetch_add(&log_async.inflight, 1);
	if (!atomic_load(&log_async.running) || atomic_load(&log_async.stop))
		goto out;
	queued = true;
	while (!log_claim(&pos)) {
		if (log_async.lossless) {
			log_wait_room();
			continue;
		}
		atomic_fetch_add_explicit(&log_async.dropped, 1,
		                          memory_order_relaxed);
		metrics_add(&log_metric_dropped, 0, 0, 1);
		goto out;
	}
	slot = &log_async.lines[pos % LOG_RING];
	slot->priority = priority;
	if (log_async.to_stderr) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		slot->when = ts.tv_sec;
		slot->msec = ts.tv_nsec / 1000000;
	} else {
		slot->when = time(NULL);
		slot->msec = 0;
	}
	memcpy(slot->text, text, len);
	slot->text[len] = '\0';
	slot->len = len;
	atomic_store_explicit(&slot->seq, pos + 1, memory_order_release);
	atomic_thread_fence(memory_order_seq_cst);
	backlog = pos + 1 -
	          atomic_load_explicit(&log_async.head, memory_order_relaxed);
	if ((atomic_load_explicit(&log_async.idle, memory_order_relaxed) &&
	     atomic_exchange(&log_async.idle, false)) ||
	    backlog == LOG_RING / 2)
		log_wake();
out:
	atomic_fetch_sub(&log_async.inflight, 1);
	return queued;
}

static const char *
log_priority_name(int priority)
{
	size_t i;

	for (i = 0; i < sizeof(log_priorities) / sizeof(*log_priorities); i++)
		if (log_priorities[i].priority == priority)
			return log_priorities[i].name;
	return "info";
}

/* log_write - one finished, already safe line. */
static void
log_write(int priority, const char *text)
{
	char line[LOG_LINE_MAX + LOG_STDERR_HEAD];
	struct timespec ts;

	if (log_to_syslog) {
		if (!log_queue(priority, text))
			syslog(priority, "%s", text);
		return;
	}
	if (log_queue(priority, text))
		return; /* log_start_async_lossless() */
	clock_gettime(CLOCK_REALTIME, &ts);
	fwrite(line, 1,
	       log_format_stderr(line, ts.tv_sec, ts.tv_nsec / 1000000,
	                         priority, text,
	                         strnlen(text, LOG_LINE_MAX - 1)),
	       stderr);
	fflush(stderr);
}

void
log_msg(int priority, const char *fmt, ...)
{
	char raw[LOG_LINE_MAX], safe[LOG_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	sanitize_text(safe, sizeof(safe), (const unsigned char *)raw,
	              strlen(raw));
	log_write(priority, safe);
}

void
log_line_init(struct log_line *line)
{
	line->buf[0] = '\0';
	line->len = 0;
}

/* log_append - add text if it fits; the line is cut at a field, never
 * inside one. */
static void
log_append(struct log_line *line, const char *text, size_t len)
{
	if (line->len + len + 1 > sizeof(line->buf))
		return;
	memcpy(line->buf + line->len, text, len);
	line->len += len;
	line->buf[line->len] = '\0';
}

/* log_append_field - " key=value" with value quoted when it must be, its
 * quotes escaped, at most cap bytes of it; value is printable ASCII. */
static void
log_append_field(struct log_line *line, const char *key, const char *value,
                 size_t cap)
{
	char field[LOG_FIELD_MAX * 2 + 128];
	size_t klen = strnlen(key, 64), used = 0, i, vlen;
	bool quote = value[0] == '\0' || strpbrk(value, " \"=") != NULL;

	vlen = strnlen(value, cap + 1);
	if (vlen <= cap && (!quote || strchr(value, '"') == NULL)) {
		/* nothing to escape or cut: the pieces straight into the
		 * line, or nothing when the whole field does not fit */
		size_t need = (line->len > 0) + klen + 1 + vlen + 2 * quote;

		if (line->len + need + 1 > sizeof(line->buf))
			return;
		if (line->len > 0)
			line->buf[line->len++] = ' ';
		memcpy(line->buf + line->len, key, klen);
		line->len += klen;
		line->buf[line->len++] = '=';
		if (quote)
			line->buf[line->len++] = '"';
		memcpy(line->buf + line->len, value, vlen);
		line->len += vlen;
		if (quote)
			line->buf[line->len++] = '"';
		line->buf[line->len] = '\0';
		return;
	}

	if (line->len > 0)
		field[used++] = ' ';
	memcpy(field + used, key, klen);
	used += klen;
	field[used++] = '=';
	if (quote)
		field[used++] = '"';
	cap += used;
	for (i = 0; value[i] != '\0' && used + 3 < sizeof(field) && used < cap;
	     i++) {
		if (value[i] == '"')
			field[used++] = '\\';
		field[used++] = value[i];
	}
	if (quote && used + 2 < sizeof(field))
		field[used++] = '"';
	field[used] = '\0';
	log_append(line, field, used);
}

void
log_field_len(struct log_line *line, const char *key,
              const unsigned char *value, size_t len)
{
	char safe[LOG_FIELD_MAX];

	sanitize_text(safe, sizeof(safe), value, len);
	log_append_field(line, key, safe, sizeof(safe));
}

/* log_printable - printable ASCII only (already sanitized text). */
static bool
log_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

void
log_field_text(struct log_line *line, const char *key, const char *value)
{
	if (value == NULL)
		value = "";
	if (!log_printable(value)) {
		log_field(line, key, value);
		return;
	}
	log_append_field(line, key, value, LOG_FIELD_MAX);
}

void
log_field(struct log_line *line, const char *key, const char *value)
{
	if (value == NULL)
		value = "";
	log_field_len(line, key, (const unsigned char *)value, strlen(value));
}

void
log_emit(int priority, const struct log_line *line)
{
	log_write(priority, line->buf);
}
