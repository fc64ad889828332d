/*
 * NAME
 *	milter_load - MAIL FROM decisions per second, spoken like Postfix
 * SYNOPSIS
 *	milter_load [-c conns] [-t seconds] [-s sender] [-q qid-prefix]
 *	    [-a address] [-e reply] [-m per-session] [-f from] SOCKET
 * DESCRIPTION
 *	Opens CONNS connections (default 1) to the milter at SOCKET
 *	(inet:PORT@HOST, inet6:PORT@HOST, unix:PATH or local:PATH), one
 *	thread each, and on every one speaks the milter protocol the way
 *	Postfix's milter8 client does (protocol version 6):
 *
 *	    OPTNEG   every action and protocol bit Postfix offers; the
 *	             filter's answer decides which commands are sent and
 *	             which are answered (SMFIP_NO* and SMFIP_NR_*);
 *	    CONNECT  from ADDRESS (default 127.0.0.1), port 25000+N;
 *	    HELO     unless the filter said SMFIP_NOHELO;
 *	then, in a loop for SECONDS (default 3) after every connection is
 *	up: MACRO for MAIL ("i" = a queue ID, "{auth_authen}" empty is not
 *	sent, as Postfix omits undefined macros), MAIL with SENDER
 *	(default <bounces@mail.example.com>), the reply, and ABORT, which
 *	ends the transaction as RSET does.  Finally QUIT.  With -m N a
 *	connection quits after N decisions and the thread opens a new one
 *	(OPTNEG, CONNECT, HELO again), as Postfix opens one milter
 *	connection per SMTP session: -m 1 measures sessions of one message.
 *	With -f FROM and a MAIL reply of continue, the decision goes on as
 *	Postfix's does after DATA: HEADER "From: FROM" (answered unless
 *	SMFIP_NR_HDR) and EOH, whose reply is then the decision's (a filter
 *	that skips headers or EOH gets none of them).
 *
 *	One decision is MAIL + its reply + ABORT.  The output is one line:
 *
 *	    conns=8 seconds=3.000 decisions=123456 rate=41152.0
 *	    lat_us=194.4 accept=123456 continue=0 reject=0 tempfail=0
 *	    other=0 sessions=8
 *
 *	rate is decisions per second over all connections and lat_us the
 *	mean time of one MAIL round trip.  With -e (a, c, r, t or y, the
 *	SMFIR_* character) any other reply to MAIL is an error: the run
 *	stops and the exit status is 1, so a benchmark cannot quietly
 *	measure a tempfail path.
 * DIAGNOSTICS
 *	Exit 0 on success, 1 on a protocol, socket or expectation error
 *	(message on stderr), 64 on a usage error.  Every read has a
 *	timeout (MLOAD_IO_TIMEOUT), so a stuck filter cannot hang a run.
 * SEE ALSO
 *	libmilter/mfdef.h; Postfix src/milter/milter8.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfdef.h>

#define MLOAD_CONNS_MAX 1024
#define MLOAD_SECONDS_MAX 3600
#define MLOAD_IO_TIMEOUT 10    /* seconds per read or write */
#define MLOAD_PACKET_MAX 65536 /* We don't accept insane replies. */
#define MLOAD_CMD_MAX 1024     /* our own commands are small */
#define MLOAD_ERR_MAX 256
#define MLOAD_PORT_BASE 25000
/* What Postfix 3.x offers in OPTNEG (milter8.c, protocol version 6). */
#define MLOAD_OFFER_ACTS SMFI_CURR_ACTS
#define MLOAD_OFFER_PROT                                                       \
	(SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT |        \
	 SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NR_HDR |            \
	 SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP | SMFIP_RCPT_REJ |        \
	 SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT |       \
	 SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_EOH | SMFIP_NR_BODY |        \
	 SMFIP_HDR_LEADSPC)

/* Reply characters to MAIL and the counter each one feeds. */
enum mload_kind {
	MLOAD_ACCEPT,
	MLOAD_CONTINUE,
	MLOAD_REJECT,
	MLOAD_TEMPFAIL,
	MLOAD_OTHER,
	MLOAD_KINDS
};

static const struct {
	char code;
	enum mload_kind kind;
} mload_replies[] = {
    {SMFIR_ACCEPT, MLOAD_ACCEPT},
    {SMFIR_CONTINUE, MLOAD_CONTINUE},
    {SMFIR_REJECT, MLOAD_REJECT},
    {SMFIR_TEMPFAIL, MLOAD_TEMPFAIL},
};

static const char *mload_kind_names[MLOAD_KINDS] = {
    "accept", "continue", "reject", "tempfail", "other"};

struct mload_opts {
	const char *socket;
	const char *sender;
	const char *address;
	const char *qid_prefix;
	int conns;
	int seconds;
	unsigned long per_session; /* decisions per connection; 0: no limit */
	char expect;      /* '\0': any reply */
	const char *from; /* -f: a From header and EOH after MAIL; NULL none */
};

/* Shared by the threads; the main thread owns the start and stop. */
struct mload_run {
	const struct mload_opts *opt;
	struct sockaddr_storage sa;
	socklen_t salen;
	pthread_barrier_t ready;
	atomic_bool stop;
	atomic_bool failed;
};

/* One connection: its socket, what was negotiated, its counters. */
struct mload_conn {
	struct mload_run *run;
	int id;
	int fd;
	uint32_t prot; /* protocol bits the filter chose */
	unsigned long count[MLOAD_KINDS];
	unsigned long decisions;
	unsigned long sessions; /* connections opened */
	uint64_t busy_ns; /* time spent in MAIL round trips */
	char err[MLOAD_ERR_MAX];
	char buf[MLOAD_PACKET_MAX];
};

/* mload_now_ns - monotonic nanoseconds. */
static uint64_t
mload_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* mload_fail - note the first error of a connection; returns -1. */
static int
mload_fail(struct mload_conn *c, const char *what, int error)
{
	if (c->err[0] == '\0')
		snprintf(c->err, sizeof(c->err), "conn %d: %s%s%s", c->id, what,
		         error ? ": " : "", error ? strerror(error) : "");
	return -1;
}

/* Socket address ---------------------------------------------------- */

/* mload_addr_unix - PATH of unix:PATH into sa. */
static int
mload_addr_unix(const char *path, struct mload_run *r)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&r->sa;

	if (strlen(path) >= sizeof(un->sun_path))
		return -1;
	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, path, strlen(path) + 1);
	r->salen = (socklen_t)sizeof(*un);
	return 0;
}

/* mload_addr_inet - PORT@HOST of inet:PORT@HOST into sa. */
static int
mload_addr_inet(const char *spec, int family, struct mload_run *r)
{
	const char *at = strchr(spec, '@');
	struct addrinfo hints, *ai;
	char port[16];
	size_t plen;

	if (at == NULL || (plen = (size_t)(at - spec)) == 0 ||
	    plen >= sizeof(port))
		return -1;
	memcpy(port, spec, plen);
	port[plen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(at + 1, port, &hints, &ai) != 0)
		return -1;
	memcpy(&r->sa, ai->ai_addr, ai->ai_addrlen);
	r->salen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* mload_addr - parse a Sendmail-style socket spec. */
static int
mload_addr(const char *spec, struct mload_run *r)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return mload_addr_unix(spec + 5, r);
	if (strncmp(spec, "local:", 6) == 0)
		return mload_addr_unix(spec + 6, r);
	if (strncmp(spec, "inet:", 5) == 0)
		return mload_addr_inet(spec + 5, AF_INET, r);
	if (strncmp(spec, "inet6:", 6) == 0)
		return mload_addr_inet(spec + 6, AF_INET6, r);
	return -1;
}

/* Wire ------------------------------------------------------------------- */

/* mload_io - read or write exactly len octets. */
static int
mload_io(struct mload_conn *c, bool writing, void *p, size_t len)
{
	char *b = p;
	ssize_t n;

	while (len > 0) {
		n = writing ? send(c->fd, b, len, MSG_NOSIGNAL)
		            : recv(c->fd, b, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mload_fail(c, writing ? "send" : "recv", errno);
		if (n == 0)
			return mload_fail(c, "the filter closed the connection",
			                  0);
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* mload_send - one packet: 4-octet length, command, data. */
static int
mload_send(struct mload_conn *c, char cmd, const void *data, size_t len)
{
	char pkt[MILTER_LEN_BYTES + 1 + MLOAD_CMD_MAX];
	uint32_t nlen = htonl((uint32_t)(len + 1));

	if (len > MLOAD_CMD_MAX)
		return mload_fail(c, "command too long", 0);
	memcpy(pkt, &nlen, MILTER_LEN_BYTES);
	pkt[MILTER_LEN_BYTES] = cmd;
	if (len > 0)
		memcpy(pkt + MILTER_LEN_BYTES + 1, data, len);
	return mload_io(c, true, pkt, MILTER_LEN_BYTES + 1 + len);
}

/* mload_recv - one packet into c->buf; its command and data length. */
static int
mload_recv(struct mload_conn *c, char *cmd, size_t *len)
{
	uint32_t nlen;
	size_t n;

	if (mload_io(c, false, &nlen, sizeof(nlen)) != 0)
		return -1;
	n = ntohl(nlen);
	if (n == 0 || n > sizeof(c->buf))
		return mload_fail(c, "reply length out of range", 0);
	if (mload_io(c, false, c->buf, n) != 0)
		return -1;
	*cmd = c->buf[0];
	*len = n - 1;
	return 0;
}

/* mload_reply - the answer to a command, past any progress packets. */
static int
mload_reply(struct mload_conn *c, char *cmd)
{
	size_t len;

	do {
		if (mload_recv(c, cmd, &len) != 0)
			return -1;
	} while (*cmd == SMFIR_PROGRESS);
	return 0;
}

/* Conversation ----------------------------------------------------------- */

/* mload_put32 - a 32-bit integer in network order at p. */
static void
mload_put32(char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, sizeof(v));
}

/* mload_optneg - offer what Postfix offers; keep what the filter chose. */
static int
mload_optneg(struct mload_conn *c)
{
	char data[MILTER_OPTLEN], cmd;
	uint32_t v[3];
	size_t len;

	mload_put32(data, SMFI_PROT_VERSION);
	mload_put32(data + 4, MLOAD_OFFER_ACTS);
	mload_put32(data + 8, MLOAD_OFFER_PROT);
	if (mload_send(c, SMFIC_OPTNEG, data, sizeof(data)) != 0 ||
	    mload_recv(c, &cmd, &len) != 0)
		return -1;
	if (cmd != SMFIC_OPTNEG || len < MILTER_OPTLEN)
		return mload_fail(c, "bad OPTNEG reply", 0);
	memcpy(v, c->buf + 1, sizeof(v));
	if (ntohl(v[0]) < 2 || ntohl(v[0]) > SMFI_PROT_VERSION ||
	    (ntohl(v[2]) & ~MLOAD_OFFER_PROT) != 0)
		return mload_fail(c, "OPTNEG reply outside the offer", 0);
	c->prot = ntohl(v[2]);
	return 0;
}

/* mload_step - send a command; read its reply unless NR_FLAG was chosen. */
static int
mload_step(struct mload_conn *c, char cmd, const void *data, size_t len,
           uint32_t nr_flag)
{
	char r;

	if (mload_send(c, cmd, data, len) != 0)
		return -1;
	if (c->prot & nr_flag)
		return 0;
	if (mload_reply(c, &r) != 0)
		return -1;
	if (r != SMFIR_CONTINUE)
		return mload_fail(c, "the filter did not continue the session",
		                  0);
	return 0;
}

/* mload_connect_cmd - CONNECT: host name, family, port, address. */
static int
mload_connect_cmd(struct mload_conn *c)
{
	const char *addr = c->run->opt->address;
	char data[MLOAD_CMD_MAX];
	uint16_t port = htons((uint16_t)(MLOAD_PORT_BASE + c->id));
	int n;

	if (c->prot & SMFIP_NOCONNECT)
		return 0;
	n = snprintf(data, sizeof(data), "client%d.example.net", c->id);
	if (n < 0 || (size_t)n + 4 + strlen(addr) + 1 > sizeof(data))
		return mload_fail(c, "CONNECT too long", 0);
	data[n + 1] = strchr(addr, ':') ? SMFIA_INET6 : SMFIA_INET;
	memcpy(data + n + 2, &port, sizeof(port));
	memcpy(data + n + 4, addr, strlen(addr) + 1);
	return mload_step(c, SMFIC_CONNECT, data,
	                  (size_t)n + 4 + strlen(addr) + 1, SMFIP_NR_CONN);
}

/* mload_open - connect, negotiate, CONNECT and HELO. */
static int
mload_open(struct mload_conn *c)
{
	struct timeval tv = {MLOAD_IO_TIMEOUT, 0};
	static const char helo[] = "client.example.net";
	int one = 1;

	c->fd = socket(c->run->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return mload_fail(c, "socket", errno);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (c->run->sa.ss_family != AF_UNIX)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&c->run->sa, c->run->salen) != 0)
		return mload_fail(c, "connect", errno);
	c->sessions++;
	if (mload_optneg(c) != 0 || mload_connect_cmd(c) != 0)
		return -1;
	if (c->prot & SMFIP_NOHELO)
		return 0;
	return mload_step(c, SMFIC_HELO, helo, sizeof(helo), SMFIP_NR_HELO);
}

/* mload_kind_of - the counter of a reply character. */
static enum mload_kind
mload_kind_of(char r)
{
	size_t i;

	for (i = 0; i < sizeof(mload_replies) / sizeof(mload_replies[0]); i++)
		if (mload_replies[i].code == r)
			return mload_replies[i].kind;
	return MLOAD_OTHER;
}

/* mload_headers - HEADER From and EOH after a MAIL that continued; *r
 * becomes EOH's reply. */
static int
mload_headers(struct mload_conn *c, char *r)
{
	const struct mload_opts *o = c->run->opt;
	char hdr[MLOAD_CMD_MAX];
	int m;

	if (!(c->prot & SMFIP_NOHDRS)) {
		m = snprintf(hdr, sizeof(hdr), "From%c%s", 0, o->from);
		if (m < 0 || (size_t)m >= sizeof(hdr))
			return mload_fail(c, "From header too long", 0);
		if (mload_send(c, SMFIC_HEADER, hdr, (size_t)m + 1) != 0)
			return -1;
		if (!(c->prot & SMFIP_NR_HDR) && mload_reply(c, r) != 0)
			return -1;
	}
	if (c->prot & SMFIP_NOEOH)
		return 0;
	if (mload_send(c, SMFIC_EOH, NULL, 0) != 0)
		return -1;
	return c->prot & SMFIP_NR_EOH ? 0 : mload_reply(c, r);
}

/* mload_decision - MACRO, MAIL, reply, ABORT: one MAIL FROM judged. */
static int
mload_decision(struct mload_conn *c, unsigned long n)
{
	const struct mload_opts *o = c->run->opt;
	char macro[MLOAD_CMD_MAX], why[64], r;
	uint64_t t0;
	int m;

	m = snprintf(macro, sizeof(macro), "%ci%c%s%02X%08lX", SMFIC_MAIL, 0,
	             o->qid_prefix, (unsigned)c->id & 0xff, n);
	if (m < 0 || (size_t)m >= sizeof(macro))
		return mload_fail(c, "MAIL macros too long", 0);
	t0 = mload_now_ns();
	if (mload_send(c, SMFIC_MACRO, macro, (size_t)m + 1) != 0)
		return -1;
	if (c->prot & SMFIP_NOMAIL)
		return mload_fail(c, "the filter does not want MAIL", 0);
	if (mload_send(c, SMFIC_MAIL, o->sender, strlen(o->sender) + 1) != 0)
		return -1;
	if (!(c->prot & SMFIP_NR_MAIL)) {
		if (mload_reply(c, &r) != 0)
			return -1;
		if (o->from != NULL && r == SMFIR_CONTINUE &&
		    mload_headers(c, &r) != 0)
			return -1;
		c->count[mload_kind_of(r)]++;
		if (o->expect != '\0' && r != o->expect) {
			snprintf(why, sizeof(why),
			         "MAIL reply '%c', expected '%c'", r,
			         o->expect);
			return mload_fail(c, why, 0);
		}
	}
	c->busy_ns += mload_now_ns() - t0;
	/* ABORT has no reply (libmilter, milter8.c). */
	return mload_send(c, SMFIC_ABORT, NULL, 0);
}

/* mload_thread - one connection: open, wait for all, loop, quit. */
static void *
mload_thread(void *arg)
{
	struct mload_conn *c = arg;
	struct mload_run *r = c->run;
	unsigned long per = r->opt->per_session, in_session = 0;
	bool ok = mload_open(c) == 0;

	if (!ok)
		atomic_store(&r->failed, true);
	pthread_barrier_wait(&r->ready);
	while (ok && !atomic_load_explicit(&r->stop, memory_order_relaxed) &&
	       !atomic_load_explicit(&r->failed, memory_order_relaxed)) {
		if (mload_decision(c, c->decisions) != 0) {
			atomic_store(&r->failed, true);
			break;
		}
		c->decisions++;
		if (per > 0 && ++in_session == per) {
			/* The session ends; the next one starts from scratch. */
			in_session = 0;
			mload_send(c, SMFIC_QUIT, NULL, 0);
			close(c->fd);
			c->fd = -1;
			if (mload_open(c) != 0) {
				atomic_store(&r->failed, true);
				ok = false;
			}
		}
	}
	if (ok && c->err[0] == '\0')
		mload_send(c, SMFIC_QUIT, NULL, 0);
	if (c->fd >= 0)
		close(c->fd);
	return NULL;
}

/* Driver ------------------------------------------------------------------ */

static int
mload_usage(void)
{
	fputs("usage: milter_load [-c conns] [-t seconds] [-s sender] "
	      "[-q qid-prefix]\n"
	      "           [-a client-address] [-e a|c|r|t|y] [-m per-session]"
	      " [-f from] SOCKET\n"
	      "  SOCKET: inet:PORT@HOST, inet6:PORT@HOST, unix:PATH\n",
	      stderr);
	return 64;
}

/* mload_args - options into o; 0, or the exit status. */
static int
mload_args(int argc, char **argv, struct mload_opts *o)
{
	int ch;

	while ((ch = getopt(argc, argv, "a:c:e:f:m:q:s:t:")) != -1) {
		switch (ch) {
		case 'a':
			o->address = optarg;
			break;
		case 'f':
			o->from = optarg;
			break;
		case 'c':
			o->conns = atoi(optarg);
			break;
		case 'e':
			o->expect = optarg[0];
			break;
		case 'm': {
			char *end;

			errno = 0;
			o->per_session = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' ||
			    *end != '\0' || errno != 0)
				return mload_usage();
			break;
		}
		case 'q':
			o->qid_prefix = optarg;
			break;
		case 's':
			o->sender = optarg;
			break;
		case 't':
			o->seconds = atoi(optarg);
			break;
		default:
			return mload_usage();
		}
	}
	if (optind + 1 != argc || o->conns < 1 || o->conns > MLOAD_CONNS_MAX ||
	    o->seconds < 1 || o->seconds > MLOAD_SECONDS_MAX ||
	    strlen(o->qid_prefix) > 8)
		return mload_usage();
	o->socket = argv[optind];
	return 0;
}

/* mload_report - sum the connections; print the line; exit status. */
static int
mload_report(const struct mload_opts *o, struct mload_conn *conns, double secs)
{
	unsigned long sum[MLOAD_KINDS] = {0}, total = 0, sessions = 0;
	uint64_t busy = 0;
	int i, k, status = 0;

	for (i = 0; i < o->conns; i++) {
		if (conns[i].err[0] != '\0') {
			fprintf(stderr, "milter_load: %s\n", conns[i].err);
			status = 1;
		}
		for (k = 0; k < MLOAD_KINDS; k++)
			sum[k] += conns[i].count[k];
		total += conns[i].decisions;
		sessions += conns[i].sessions;
		busy += conns[i].busy_ns;
	}
	printf("conns=%d seconds=%.3f decisions=%lu rate=%.1f lat_us=%.1f",
	       o->conns, secs, total, secs > 0 ? (double)total / secs : 0.0,
	       total ? (double)busy / 1e3 / (double)total : 0.0);
	for (k = 0; k < MLOAD_KINDS; k++)
		printf(" %s=%lu", mload_kind_names[k], sum[k]);
	printf(" sessions=%lu\n", sessions);
	return status;
}

int
main(int argc, char **argv)
{
	struct mload_opts o = {.sender = "<bounces@mail.example.com>",
	                       .address = "127.0.0.1",
	                       .qid_prefix = "4B",
	                       .conns = 1,
	                       .seconds = 3};
	struct mload_run run;
	struct mload_conn *conns;
	pthread_t *tids;
	struct timespec pause;
	uint64_t t0, t1;
	int i, rc;

	if ((rc = mload_args(argc, argv, &o)) != 0)
		return rc;
	memset(&run, 0, sizeof(run));
	run.opt = &o;
	if (mload_addr(o.socket, &run) != 0) {
		fprintf(stderr, "milter_load: bad socket '%s'\n", o.socket);
		return mload_usage();
	}
	conns = calloc((size_t)o.conns, sizeof(*conns));
	tids = calloc((size_t)o.conns, sizeof(*tids));
	if (conns == NULL || tids == NULL) {
		fprintf(stderr, "milter_load: out of memory\n");
		return 1;
	}
	pthread_barrier_init(&run.ready, NULL, (unsigned)o.conns + 1);
	for (i = 0; i < o.conns; i++) {
		conns[i].run = &run;
		conns[i].id = i;
		conns[i].fd = -1;
		if (pthread_create(&tids[i], NULL, mload_thread, &conns[i]) !=
		    0) {
			fprintf(stderr, "milter_load: pthread_create failed\n");
			return 1;
		}
	}
	pthread_barrier_wait(&run.ready);
	t0 = mload_now_ns();
	pause.tv_sec = 0;
	pause.tv_nsec = 10000000; /* 10 ms: stop early on failure */
	while (!atomic_load(&run.failed) &&
	       mload_now_ns() - t0 < (uint64_t)o.seconds * 1000000000u)
		nanosleep(&pause, NULL);
	atomic_store(&run.stop, true);
	t1 = mload_now_ns();
	for (i = 0; i < o.conns; i++)
		pthread_join(tids[i], NULL);
	rc = mload_report(&o, conns, (double)(t1 - t0) / 1e9);
	pthread_barrier_destroy(&run.ready);
	free(conns);
	free(tids);
	return rc;
}
