/*
 * policyd.c - the Postfix policy door of authready-milter; see policyd.h.
 *
 * SYNOPSIS
 *	int policyd_start(int fd, enum held_door door, char *err,
 *	    size_t errlen);
 *	bool policyd_stop(int seconds);
 *
 * DESCRIPTION
 *	Connections sit on a list ordered by their last request, so the
 *	idle ones are found at its head: a connection quiet for
 *	POLICYD_IDLE_SECONDS (longer than Postfix's own max_idle, so Postfix
 *	closes first) is closed.  Every complete request in a connection's
 *	buffer gets exactly one reply, in order.
 *
 *	A request that needs a check waited for leaves the loop: its
 *	connection is taken out of epoll and a detached thread waits,
 *	decides, replies and hands the connection back through an eventfd;
 *	the loop then reads on.  At most POLICYD_WAITERS_MAX wait at once;
 *	past that the request is told 451 4.3.2 (busy) at once.
 *
 *	The held index: a quarantine is answered HOLD once per transaction,
 *	and indexed (decide_hold_index) at the first request of the
 *	transaction that carries a queue ID (smtpd has opened the queue file
 *	by DATA; with smtpd_delay_open_until_valid_rcpt, not at the first
 *	RCPT TO).
 *
 * DIAGNOSTICS
 *	At stop, one event=policy-stats line: the connections accepted and
 *	the requests read since the start (their ratio to messages is what
 *	the door saves over the milter's connection per session).
 *	A request that cannot be read closes its connection, with one
 *	event=policy-bad-request line (peer's fault, never a crash); a
 *	connection over POLICYD_CONNS_MAX is closed at once
 *	(event=policy-too-many).  Decisions are logged by decide.c.
 */
#include "policyd.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "decide.h"
#include "log.h"
#include "policymap.h"
#include "policyreq.h"
#include "release.h"
#include "snapshot.h"
#include "text.h"

#define POLICYD_EVENTS 64
#define POLICYD_TICK_MS 1000

struct policyd_conn {
	int fd;
	bool busy;   /* a waiter thread has it */
	bool broken; /* the waiter could not reply: close it */
	time_t last; /* monotonic seconds of the last request */
	unsigned long id;
	struct policyd_conn *prev, *next; /* by last request */
	struct policyd_conn *back;        /* on the hand-back list */
	struct policymap_txn txn;
	char domain[DOMAIN_BUF];
	char mailbox[HELD_SENDER_MAX];
	size_t used;
	char buf[POLICYREQ_MAX];
};

/* A request handed to a waiter thread. */
struct policyd_job {
	struct policyd_conn *c;
	struct policyreq req;
	enum policymap_stage stage;
};

static struct {
	int lfd, efd, epfd;
	enum held_door door;
	pthread_t thread;
	_Atomic bool stop;
	_Atomic int waiters;
	long conns;
	unsigned long ids;      /* connections accepted */
	unsigned long requests; /* requests read whole */
	struct policyd_conn *head, *tail;
	pthread_mutex_t back_lock;
	struct policyd_conn *back; /* handed back by waiters */
} pd = {
    .lfd = -1, .efd = -1, .epfd = -1, .back_lock = PTHREAD_MUTEX_INITIALIZER};

/* policyd_now - monotonic seconds. */
static time_t
policyd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* policyd_unlink - off the idle list (a new connection is not on it:
 * taking it "off" would drop the whole list, and with it every other
 * connection from the idle timeout and from the close at stop). */
static void
policyd_unlink(struct policyd_conn *c)
{
	if (c->prev == NULL && pd.head != c)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		pd.head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		pd.tail = c->prev;
	c->prev = c->next = NULL;
}

/* policyd_touch - to the tail of the idle list, stamped now. */
static void
policyd_touch(struct policyd_conn *c)
{
	policyd_unlink(c);
	c->last = policyd_now();
	c->prev = pd.tail;
	if (pd.tail != NULL)
		pd.tail->next = c;
	else
		pd.head = c;
	pd.tail = c;
}

/* policyd_close - the connection goes. */
static void
policyd_close(struct policyd_conn *c)
{
	policyd_unlink(c);
	close(c->fd); /* also takes it out of epoll */
	free(c);
	pd.conns--;
}

/* policyd_write - the whole reply; false when the peer does not take
 * it (a reply is far below a socket buffer: a full one is a peer that
 * does not read). */
static bool
policyd_write(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		s += n;
		len -= (size_t)n;
	}
	return true;
}

/* policyd_decided - keep the decision in the transaction; index a
 * quarantine once a queue ID comes. */
static void
policyd_decided(struct policyd_conn *c, const struct decide_result *res)
{
	c->txn.decided = true;
	c->txn.judged = res->judged;
	if (!res->judged)
		return;
	c->txn.d = res->decision;
	c->domain[0] = c->mailbox[0] = '\0';
	if (res->facts.code == REVPATH_OK) {
		text_copy(c->domain, sizeof(c->domain), res->facts.lk.domain);
		text_copy(c->mailbox, sizeof(c->mailbox), res->facts.mailbox);
	}
}

/* policyd_index - a held transaction's queue ID into the index. */
static void
policyd_index(struct policyd_conn *c, const struct policyreq *r)
{
	char reason[HELD_REASON_MAX];

	if (!c->txn.decided || !c->txn.judged || c->txn.indexed ||
	    c->txn.d.action != POLICY_QUARANTINE || r->queue_id[0] == '\0')
		return;
	c->txn.indexed = true;
	/* Postfix's protocol: Postfix's queue IDs (config_check_mta()
	 * refuses the door with MTA sendmail) */
	if (!release_queue_id_ok(r->queue_id, CONFIG_MTA_POSTFIX)) {
		log_msg(LOG_WARNING,
		        "event=quarantine domain=%s queue_id=invalid (release "
		        "by hand)",
		        c->domain);
		return;
	}
	snprintf(reason, sizeof(reason), "authready: %.*s",
	         (int)(sizeof(reason) - 16),
	         c->txn.d.reason[0] ? c->txn.d.reason : "not ready");
	decide_hold_index(c->domain, r->queue_id, c->mailbox, reason, pd.door);
}

/* policyd_judge - decide r for c under cfg: 1 decided, 0 when it must
 * wait and may_wait is false (nothing decided, nothing logged), -1 out
 * of memory (the connection is closed: Postfix then applies its
 * smtpd_policy_service_default_action, a 451, never a pass). */
static int
policyd_judge(struct policyd_conn *c, const struct policyreq *r,
              const struct config *cfg, bool may_wait)
{
	struct decide_request rq = {0};
	struct sockaddr_storage ss;
	struct decide_result *res;
	char path[POLICYREQ_SENDER_MAX + 3], session[32];
	int done;

	if ((res = malloc(sizeof(*res))) == NULL) {
		log_msg(LOG_ERR,
		        "event=policy-error conn=p%lu error=\"out of "
		        "memory\" (connection closed)",
		        c->id);
		return -1;
	}
	policymap_path(r, path, sizeof(path));
	if (r->queue_id[0] != '\0')
		text_copy(session, sizeof(session), r->queue_id);
	else
		snprintf(session, sizeof(session), "p%lu", c->id);
	rq.path = path;
	rq.client = policymap_client(r->client_address, &ss)
	                ? (const struct sockaddr *)&ss
	                : NULL;
	rq.auth = r->sasl_username;
	rq.session = session;
	rq.client_text = r->client_address[0] ? r->client_address : "-";
	rq.sender_text = path;
	rq.may_wait = may_wait;
	decide_sender(cfg, &rq, res);
	done = res->wanted_wait ? 0 : 1;
	if (done)
		policyd_decided(c, res);
	free(res);
	return done;
}

/* policyd_reply - the reply to r at stage under c's transaction. */
static bool
policyd_reply(struct policyd_conn *c, const struct policyreq *r,
              enum policymap_stage stage, const struct config *cfg)
{
	char out[POLICYMAP_REPLY_MAX];

	policyd_index(c, r);
	policymap_reply(&c->txn, stage, cfg->policy.tag_header,
	                cfg->policy_accept_ok, out, sizeof(out));
	return policyd_write(c->fd, out, strlen(out));
}

/* policyd_waiter - a thread: the wait, the decision and the reply of
 * one request, then the connection goes back to the loop. */
static void *
policyd_waiter(void *arg)
{
	struct policyd_job *job = arg;
	struct policyd_conn *c = job->c;
	struct snapshot *snap = snapshot_acquire();
	uint64_t one = 1;

	if (policyd_judge(c, &job->req, &snap->cfg, true) < 0 ||
	    !policyd_reply(c, &job->req, job->stage, &snap->cfg))
		c->broken = true;
	snapshot_release(snap);
	free(job);
	pthread_mutex_lock(&pd.back_lock);
	c->back = pd.back;
	pd.back = c;
	pthread_mutex_unlock(&pd.back_lock);
	if (write(pd.efd, &one, sizeof(one)) < 0)
		log_msg(LOG_ERR, "event=policy-error error=\"eventfd: %s\"",
		        strerror(errno));
	atomic_fetch_sub(&pd.waiters, 1);
	return NULL;
}

/* policyd_defer - hand r to a waiter thread; false when none can be
 * had (the request is then told busy). */
static bool
policyd_defer(struct policyd_conn *c, const struct policyreq *r,
              enum policymap_stage stage)
{
	struct policyd_job *job;
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (atomic_fetch_add(&pd.waiters, 1) >= POLICYD_WAITERS_MAX ||
	    (job = malloc(sizeof(*job))) == NULL) {
		atomic_fetch_sub(&pd.waiters, 1);
		return false;
	}
	job->c = c;
	job->req = *r;
	job->stage = stage;
	c->busy = true;
	epoll_ctl(pd.epfd, EPOLL_CTL_DEL, c->fd, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, policyd_waiter, job);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

		c->busy = false;
		epoll_ctl(pd.epfd, EPOLL_CTL_ADD, c->fd, &ev);
		free(job);
		atomic_fetch_sub(&pd.waiters, 1);
		return false;
	}
	return true;
}

/* policyd_request - one whole request of c: false to close c. */
static bool
policyd_request(struct policyd_conn *c, const char *buf, size_t len)
{
	static const char busy[] =
	    "action=451 4.3.2 sender check busy, try again later\n\n";
	struct policyreq *r;
	struct snapshot *snap;
	enum policymap_stage stage;
	char err[160];
	bool ok = true;
	int judged;

	if ((r = malloc(sizeof(*r))) == NULL)
		return false;
	pd.requests++;
	if (policyreq_parse(buf, len, r, err, sizeof(err)) != 0) {
		log_msg(LOG_WARNING,
		        "event=policy-bad-request conn=p%lu error=\"%s\" "
		        "(connection closed)",
		        c->id, err);
		free(r);
		return false;
	}
	/* Only smtpd's access policy requests are judged. */
	stage = strcmp(r->request, "smtpd_access_policy") == 0
	            ? policymap_stage(r->protocol_state)
	            : POLICYMAP_OTHER;
	snap = snapshot_acquire();
	if (policymap_enter(&c->txn, r, stage) &&
	    (judged = policyd_judge(c, r, &snap->cfg, false)) <= 0) {
		if (judged < 0) {
			ok = false;
		} else if (!policyd_defer(c, r, stage)) {
			log_msg(LOG_WARNING,
			        "event=policy-busy conn=p%lu waiters=%d", c->id,
			        POLICYD_WAITERS_MAX);
			ok = policyd_write(c->fd, busy, sizeof(busy) - 1);
		}
	} else {
		ok = policyd_reply(c, r, stage, &snap->cfg);
	}
	snapshot_release(snap);
	free(r);
	return ok;
}

/* policyd_drain - answer the whole requests in c's buffer, in order,
 * until one is handed to a waiter; false to close c. */
static bool
policyd_drain(struct policyd_conn *c)
{
	while (!c->busy && c->used > 0) {
		long end = policyreq_end(c->buf, c->used);

		if (end < 0) {
			log_msg(LOG_WARNING,
			        "event=policy-bad-request conn=p%lu "
			        "error=\"request "
			        "over %d octets\" (connection closed)",
			        c->id, POLICYREQ_MAX);
			return false;
		}
		if (end == 0)
			return true;
		if (!policyd_request(c, c->buf, (size_t)end))
			return false;
		c->used -= (size_t)end;
		memmove(c->buf, c->buf + end, c->used);
	}
	return true;
}

/* policyd_readable - read what c has; false to close it. */
static bool
policyd_readable(struct policyd_conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->used == sizeof(c->buf))
			return policyd_drain(c) && c->used < sizeof(c->buf);
		n = recv(c->fd, c->buf + c->used, sizeof(c->buf) - c->used, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0)
			return false; /* end, or the peer's error */
		c->used += (size_t)n;
		policyd_touch(c);
		if (!policyd_drain(c))
			return false;
		if (c->busy)
			return true;
	}
}

/* policyd_accept - the new connections. */
static void
policyd_accept(void)
{
	for (;;) {
		int fd =
		    accept4(pd.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN};
		struct policyd_conn *c;

		if (fd < 0)
			return;
		if (pd.conns >= POLICYD_CONNS_MAX ||
		    (c = calloc(1, sizeof(*c))) == NULL) {
			log_msg(LOG_WARNING, "event=policy-too-many conns=%ld",
			        pd.conns);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->id = ++pd.ids;
		ev.data.ptr = c;
		if (epoll_ctl(pd.epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			continue;
		}
		pd.conns++;
		policyd_touch(c);
	}
}

/* policyd_back - connections the waiters handed back: to the loop. */
static void
policyd_back(void)
{
	struct policyd_conn *c, *next;
	uint64_t n;

	if (read(pd.efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&pd.back_lock);
	c = pd.back;
	pd.back = NULL;
	pthread_mutex_unlock(&pd.back_lock);
	for (; c != NULL; c = next) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

		next = c->back;
		c->busy = false;
		if (c->broken || !policyd_drain(c) ||
		    (!c->busy &&
		     epoll_ctl(pd.epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0))
			policyd_close(c);
		else
			policyd_touch(c);
	}
}

/* policyd_idle - close the connections quiet too long. */
static void
policyd_idle(void)
{
	time_t now = policyd_now();
	struct policyd_conn *c = pd.head, *next;

	for (; c != NULL && now - c->last >= POLICYD_IDLE_SECONDS; c = next) {
		next = c->next;
		if (!c->busy)
			policyd_close(c);
	}
}

/* policyd_main - the loop. */
static void *
policyd_main(void *arg)
{
	struct epoll_event ev[POLICYD_EVENTS];

	(void)arg;
	while (!atomic_load(&pd.stop)) {
		int n =
		    epoll_wait(pd.epfd, ev, POLICYD_EVENTS, POLICYD_TICK_MS);

		for (int i = 0; i < n; i++) {
			struct policyd_conn *c = ev[i].data.ptr;

			if (c == NULL)
				policyd_accept();
			else if (c == (struct policyd_conn *)&pd)
				policyd_back();
			else if (!c->busy && !policyd_readable(c))
				policyd_close(c);
		}
		policyd_idle();
	}
	return NULL;
}

int
policyd_start(int fd, enum held_door door, char *err, size_t errlen)
{
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
	struct epoll_event eev = {.events = EPOLLIN, .data.ptr = &pd};

	pd.lfd = fd;
	pd.door = door;
	if ((pd.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (pd.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    epoll_ctl(pd.epfd, EPOLL_CTL_ADD, fd, &lev) != 0 ||
	    epoll_ctl(pd.epfd, EPOLL_CTL_ADD, pd.efd, &eev) != 0 ||
	    pthread_create(&pd.thread, NULL, policyd_main, NULL) != 0) {
		snprintf(err, errlen, "policy door: %s", strerror(errno));
		return -1;
	}
	return 0;
}

bool
policyd_stop(int seconds)
{
	const struct timespec tick = {0, 10 * 1000 * 1000};
	uint64_t one = 1;

	if (pd.epfd < 0)
		return true;
	atomic_store(&pd.stop, true);
	if (write(pd.efd, &one, sizeof(one)) < 0)
		log_msg(LOG_ERR, "event=policy-error error=\"eventfd: %s\"",
		        strerror(errno));
	pthread_join(pd.thread, NULL);
	close(pd.lfd);
	log_msg(LOG_NOTICE, "event=policy-stats connections=%lu requests=%lu",
	        pd.ids, pd.requests);
	for (int i = 0; atomic_load(&pd.waiters) > 0 && i < seconds * 100; i++)
		nanosleep(&tick, NULL);
	if (atomic_load(&pd.waiters) > 0)
		return false;
	policyd_back();
	while (pd.head != NULL)
		policyd_close(pd.head);
	return true;
}
