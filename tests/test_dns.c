/*
 * test_dns.c - dns.c end to end against a fake server on loopback.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_dns
 *
 * DESCRIPTION
 *	The fake server is a thread with a UDP socket and a TCP listener on
 *	the same 127.0.0.1 port (kernel-chosen).  It answers each query by a
 *	table of rules keyed on (name, type): an RCODE, a CNAME, TXT records,
 *	or misbehaviour: drop the query, set TC over UDP (the full answer
 *	only over TCP, at once or after FAKE_TCP_DELAY_MS), or answer first
 *	(or only) with a wrong query ID.
 *	It never talks to anything but the client on loopback.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "dnsmsg.h"
#include "metrics.h"

#define FAKE_CONN_MAX 16
#define FAKE_MSG_MAX 65535
#define RUN_LIMIT_MS 15000    /* a test that loops longer has failed */
#define SLACK_MS 250          /* scheduling slack for deadline checks */
#define FAKE_TCP_DELAY_MS 700 /* FAKE_TC_SLOW's wait before a TCP answer */

enum fake_action {
	FAKE_ANSWER,        /* rcode, CNAME, records */
	FAKE_DROP,          /* never answer */
	FAKE_TC,            /* UDP: empty and truncated; TCP: the answer */
	FAKE_TC_SLOW,       /* the same, TCP after FAKE_TCP_DELAY_MS */
	FAKE_WRONG_ID,      /* a bogus answer with another ID, then ours */
	FAKE_WRONG_ID_ONLY, /* only the bogus answer */
};

struct fake_rule {
	const char *name; /* "*.x" matches any name under x */
	uint16_t qtype;
	enum fake_action action;
	unsigned rcode;
	const char *cname; /* answer with a CNAME to this name */
	const char *txt;   /* one TXT record ("=" : the query name) */
	size_t big;        /* or one TXT record of this many octets */
};

struct fake_server {
	int udp;
	int tcp;
	unsigned short port;
	int stop[2];
	pthread_t thread;
	const struct fake_rule *rules;
	size_t nrules;
	atomic_uint udp_queries;
	atomic_uint tcp_queries;
};

/* A query as the fake server read it. */
struct fake_query {
	const unsigned char *buf;
	size_t len;
	char name[DNS_NAME_TEXT_MAX];
	uint16_t qtype;
	size_t qend; /* end of the question */
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* fake_parse - name and type of the (uncompressed) question. */
static int
fake_parse(struct fake_query *q)
{
	size_t pos = 12, out = 0;

	if (q->len < 12)
		return -1;
	while (pos < q->len && q->buf[pos] != 0) {
		size_t n = q->buf[pos];

		if (n > 63 || pos + 1 + n >= q->len ||
		    out + n + 2 >= sizeof(q->name))
			return -1;
		if (out > 0)
			q->name[out++] = '.';
		memcpy(q->name + out, q->buf + pos + 1, n);
		out += n;
		pos += 1 + n;
	}
	q->name[out] = '\0';
	if (pos + 5 > q->len)
		return -1;
	q->qtype = (uint16_t)(q->buf[pos + 1] << 8 | q->buf[pos + 2]);
	q->qend = pos + 5;
	return 0;
}

/* fake_match - the rule for a query, if any. */
static const struct fake_rule *
fake_match(const struct fake_server *fs, const struct fake_query *q)
{
	size_t i;

	for (i = 0; i < fs->nrules; i++) {
		const struct fake_rule *r = &fs->rules[i];
		size_t nl = strlen(q->name), rl = strlen(r->name);

		if (r->qtype != q->qtype)
			continue;
		if (strcasecmp(r->name, q->name) == 0)
			return r;
		if (r->name[0] == '*' && nl >= rl &&
		    strcasecmp(q->name + nl - (rl - 1), r->name + 1) == 0)
			return r;
	}
	return NULL;
}

struct out {
	unsigned char b[FAKE_MSG_MAX + 2];
	size_t len;
};

static void
out8(struct out *o, unsigned v)
{
	if (o->len < sizeof(o->b))
		o->b[o->len++] = (unsigned char)v;
}

static void
out16(struct out *o, unsigned v)
{
	out8(o, v >> 8 & 0xff);
	out8(o, v & 0xff);
}

/* out_name - a dotted name as labels; returns its offset. */
static size_t
out_name(struct out *o, const char *dotted)
{
	size_t off = o->len;

	while (*dotted != '\0') {
		size_t n = strcspn(dotted, "."), i;

		out8(o, (unsigned)n);
		for (i = 0; i < n; i++)
			out8(o, (unsigned char)dotted[i]);
		dotted += n;
		if (*dotted == '.')
			dotted++;
	}
	out8(o, 0);
	return off;
}

/* out_rr_head - owner pointer, type, IN, TTL; returns RDLENGTH's place. */
static size_t
out_rr_head(struct out *o, size_t owner, unsigned type)
{
	out16(o, 0xc000 | (unsigned)owner);
	out16(o, type);
	out16(o, 1);
	out16(o, 0);
	out16(o, 60);
	out16(o, 0);
	return o->len;
}

static void
out_rr_end(struct out *o, size_t rd)
{
	o->b[rd - 2] = (unsigned char)((o->len - rd) >> 8);
	o->b[rd - 1] = (unsigned char)((o->len - rd) & 0xff);
}

/* out_txt - one TXT record of text, or of big octets, at owner. */
static void
out_txt(struct out *o, size_t owner, const char *text, size_t big)
{
	size_t rd = out_rr_head(o, owner, DNS_TYPE_TXT), len, i, n;

	len = big ? big : strlen(text);
	for (i = 0; i < len;) {
		n = len - i > 255 ? 255 : len - i;
		out8(o, (unsigned)n);
		for (; n > 0; n--, i++)
			out8(o, big ? (unsigned)('a' + i % 26)
			            : (unsigned char)text[i]);
	}
	if (len == 0)
		out8(o, 0);
	out_rr_end(o, rd);
}

/* fake_reply - the response to q by rule r; truncated for UDP TC. */
static void
fake_reply(const struct fake_query *q, const struct fake_rule *r,
           bool truncated, uint16_t id, struct out *o)
{
	size_t owner = 12;
	unsigned an = 0;

	o->len = 0;
	out16(o, id);
	out16(o, 0x8000 | (q->buf[2] & 0x01) << 8 | 0x80 |
	             (truncated ? 0x0200 : 0) | (r ? r->rcode : 3));
	out16(o, 1);
	out16(o, 0);
	out16(o, 0);
	out16(o, 0);
	memcpy(o->b + o->len, q->buf + 12, q->qend - 12);
	o->len += q->qend - 12;
	if (r == NULL || truncated || r->rcode != 0)
		return;
	if (r->cname != NULL) {
		size_t rd = out_rr_head(o, 12, DNS_TYPE_CNAME);

		owner = out_name(o, r->cname);
		out_rr_end(o, rd);
		an++;
	}
	if (r->txt != NULL || r->big > 0) {
		out_txt(o, owner,
		        strcmp(r->txt ? r->txt : "", "=") == 0 ? q->name
		                                               : r->txt,
		        r->big);
		an++;
	}
	o->b[7] = (unsigned char)an;
}

/* fake_answer - the datagrams or TCP messages for one query. */
static void
fake_answer(struct fake_server *fs, const unsigned char *buf, size_t len,
            bool tcp, void (*send_fn)(void *, const struct out *), void *ctx)
{
	static __thread struct out o;
	struct fake_query q = {buf, len, "", 0, 0};
	const struct fake_rule *r;
	uint16_t id;

	if (fake_parse(&q) < 0)
		return;
	r = fake_match(fs, &q);
	id = (uint16_t)(buf[0] << 8 | buf[1]);
	if (r != NULL && r->action == FAKE_DROP)
		return;
	if (r != NULL &&
	    (r->action == FAKE_WRONG_ID || r->action == FAKE_WRONG_ID_ONLY)) {
		static const struct fake_rule bogus = {
		    "", 0, FAKE_ANSWER, 0, NULL, "bogus", 0};

		fake_reply(&q, &bogus, false, id ^ 0x5a5a, &o);
		send_fn(ctx, &o);
		if (r->action == FAKE_WRONG_ID_ONLY)
			return;
	}
	if (r != NULL && r->action == FAKE_TC_SLOW && tcp) {
		struct timespec nap = {0, FAKE_TCP_DELAY_MS * 1000000L};

		nanosleep(&nap, NULL);
	}
	fake_reply(&q, r,
	           r != NULL &&
	               (r->action == FAKE_TC || r->action == FAKE_TC_SLOW) &&
	               !tcp,
	           id, &o);
	send_fn(ctx, &o);
}

struct udp_ctx {
	int fd;
	struct sockaddr_storage from;
	socklen_t fromlen;
};

static void
udp_send(void *arg, const struct out *o)
{
	struct udp_ctx *c = arg;

	(void)sendto(c->fd, o->b, o->len, 0, (struct sockaddr *)&c->from,
	             c->fromlen);
}

static void
tcp_send(void *arg, const struct out *o)
{
	int fd = *(int *)arg;
	unsigned char len[2] = {(unsigned char)(o->len >> 8),
	                        (unsigned char)o->len};

	(void)send(fd, len, 2, MSG_NOSIGNAL);
	(void)send(fd, o->b, o->len, MSG_NOSIGNAL);
}

/* fake_tcp_read - one length-prefixed query; -1 when the peer is gone. */
static int
fake_tcp_read(struct fake_server *fs, int fd)
{
	static __thread unsigned char buf[FAKE_MSG_MAX];
	unsigned char lenb[2];
	size_t len;

	if (recv(fd, lenb, 2, MSG_WAITALL) != 2)
		return -1;
	len = (size_t)lenb[0] << 8 | lenb[1];
	if (recv(fd, buf, len, MSG_WAITALL) != (ssize_t)len)
		return -1;
	atomic_fetch_add(&fs->tcp_queries, 1);
	fake_answer(fs, buf, len, true, tcp_send, &fd);
	return 0;
}

static void *
fake_thread(void *arg)
{
	static __thread unsigned char buf[FAKE_MSG_MAX];
	struct fake_server *fs = arg;
	struct pollfd fds[3 + FAKE_CONN_MAX];
	nfds_t n = 3, i;

	fds[0].fd = fs->stop[0];
	fds[1].fd = fs->udp;
	fds[2].fd = fs->tcp;
	fds[0].events = fds[1].events = fds[2].events = POLLIN;
	while (poll(fds, n, -1) >= 0 && fds[0].revents == 0) {
		while (fds[1].revents & POLLIN) {
			struct udp_ctx c = {fs->udp, {0}, sizeof(c.from)};
			ssize_t got =
			    recvfrom(fs->udp, buf, sizeof(buf), MSG_DONTWAIT,
			             (struct sockaddr *)&c.from, &c.fromlen);

			if (got <= 0)
				break;
			atomic_fetch_add(&fs->udp_queries, 1);
			fake_answer(fs, buf, (size_t)got, false, udp_send, &c);
		}
		if ((fds[2].revents & POLLIN) && n < 3 + FAKE_CONN_MAX) {
			int c = accept(fs->tcp, NULL, NULL);

			if (c >= 0) {
				fds[n].fd = c;
				fds[n].revents = 0; /* read below, this round */
				fds[n++].events = POLLIN;
			}
		}
		for (i = 3; i < n; i++) {
			if (fds[i].revents != 0 &&
			    fake_tcp_read(fs, fds[i].fd) < 0) {
				close(fds[i].fd);
				fds[i--] = fds[--n];
			}
		}
	}
	for (i = 3; i < n; i++)
		close(fds[i].fd);
	return NULL;
}

/* fake_bind - a socket on 127.0.0.1:port; -1 if the port is taken. */
static int
fake_bind(int type, unsigned short port, unsigned short *bound)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, type, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		ck_assert_int_eq(errno, EADDRINUSE);
		close(fd);
		return -1;
	}
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*bound = ntohs(sin.sin_port);
	return fd;
}

static void
fake_start(struct fake_server *fs, const struct fake_rule *rules, size_t nrules)
{
	unsigned short tport;
	int tries;

	memset(fs, 0, sizeof(*fs));
	fs->rules = rules;
	fs->nrules = nrules;
	fs->tcp = -1;
	for (tries = 0; tries < 50 && fs->tcp < 0; tries++) {
		fs->udp = fake_bind(SOCK_DGRAM, 0, &fs->port);
		fs->tcp = fake_bind(SOCK_STREAM, fs->port, &tport);
		if (fs->tcp < 0)
			close(fs->udp);
	}
	ck_assert_int_ge(fs->tcp, 0);
	ck_assert_int_eq(listen(fs->tcp, 16), 0);
	ck_assert_int_eq(pipe(fs->stop), 0);
	ck_assert_int_eq(pthread_create(&fs->thread, NULL, fake_thread, fs), 0);
}

static void
fake_stop(struct fake_server *fs)
{
	ck_assert_int_eq(write(fs->stop[1], "x", 1), 1);
	pthread_join(fs->thread, NULL);
	close(fs->udp);
	close(fs->tcp);
	close(fs->stop[0]);
	close(fs->stop[1]);
}

/* What a callback saw. */
struct result {
	unsigned calls;
	enum dns_outcome outcome;
	char qname[DNS_NAME_TEXT_MAX];
	char final_name[DNS_NAME_TEXT_MAX];
	unsigned hops;
	size_t count;
	unsigned char data[8192];
	size_t len;
	char error[128];
	uint64_t at;
};

static void
record_cb(void *arg, const struct dns_answer *ans)
{
	struct result *r = arg;

	r->calls++;
	r->outcome = ans->outcome;
	r->at = now_ms();
	snprintf(r->qname, sizeof(r->qname), "%s", ans->qname);
	snprintf(r->final_name, sizeof(r->final_name), "%s", ans->final_name);
	snprintf(r->error, sizeof(r->error), "%s", ans->error);
	r->hops = ans->cname_hops;
	r->count = ans->count;
	r->len = 0;
	if (ans->count > 0 && ans->rrs[0].len < sizeof(r->data)) {
		memcpy(r->data, ans->rrs[0].data, ans->rrs[0].len + 1);
		r->len = ans->rrs[0].len;
	}
}

/* open_fake - a channel that asks the fake server only. */
static struct dns *
open_fake(const struct fake_server *fs, unsigned timeout_ms)
{
	struct dns_options o;
	struct dns *d = NULL;
	char err[256] = "";

	memset(&o, 0, sizeof(o));
	snprintf(o.servers[0], sizeof(o.servers[0]), "127.0.0.1:%u",
	         (unsigned)fs->port);
	o.nservers = 1;
	o.timeout_ms = timeout_ms;
	ck_assert_msg(dns_open(&d, &o, err, sizeof(err)) == 0, "%s", err);
	ck_assert_ptr_nonnull(d);
	return d;
}

/* run_all - run the loop until nothing is pending, bounded in time. */
static void
run_all(struct dns *d)
{
	uint64_t start = now_ms();

	while (dns_pending(d) > 0) {
		ck_assert_uint_lt(now_ms() - start, RUN_LIMIT_MS);
		dns_run_once(d, 100);
	}
}

/* lookup - one query, run to completion. */
static void
lookup(struct dns *d, const char *name, uint16_t qtype, struct result *r)
{
	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(dns_query(d, name, qtype, record_cb, r), 0);
	ck_assert_uint_eq(r->calls, 0); /* never from inside dns_query */
	run_all(d);
	ck_assert_uint_eq(r->calls, 1);
}

static const struct fake_rule rules[] = {
    {"example.com", DNS_TYPE_TXT, FAKE_ANSWER, 0, NULL, "v=spf1 -all", 0},
    {"nx.example.com", DNS_TYPE_TXT, FAKE_ANSWER, 3, NULL, NULL, 0},
    {"nodata.example.com", DNS_TYPE_TXT, FAKE_ANSWER, 0, NULL, NULL, 0},
    {"servfail.example.com", DNS_TYPE_TXT, FAKE_ANSWER, 2, NULL, NULL, 0},
    {"refused.example.com", DNS_TYPE_TXT, FAKE_ANSWER, 5, NULL, NULL, 0},
    {"drop.example.com", DNS_TYPE_TXT, FAKE_DROP, 0, NULL, NULL, 0},
    {"alias.example.com", DNS_TYPE_TXT, FAKE_ANSWER, 0, "target.example.net",
     NULL, 0},
    {"target.example.net", DNS_TYPE_TXT, FAKE_ANSWER, 0, NULL, "via cname", 0},
    {"loop1.example.com", DNS_TYPE_TXT, FAKE_ANSWER, 0, "loop2.example.com",
     NULL, 0},
    {"loop2.example.com", DNS_TYPE_TXT, FAKE_ANSWER, 0, "loop1.example.com",
     NULL, 0},
    {"slowalias.example.com", DNS_TYPE_TXT, FAKE_ANSWER, 0, "drop.example.com",
     NULL, 0},
    {"big.example.com", DNS_TYPE_TXT, FAKE_TC, 0, NULL, NULL, 3000},
    {"slowbig.example.com", DNS_TYPE_TXT, FAKE_TC_SLOW, 0, NULL, NULL, 3000},
    {"wrongid.example.com", DNS_TYPE_TXT, FAKE_WRONG_ID, 0, NULL, "right", 0},
    {"onlywrong.example.com", DNS_TYPE_TXT, FAKE_WRONG_ID_ONLY, 0, NULL,
     "right", 0},
    {"*.many.example", DNS_TYPE_TXT, FAKE_ANSWER, 0, NULL, "=", 0},
};
#define NRULES (sizeof(rules) / sizeof(*rules))

START_TEST(test_txt)
{
	struct fake_server fs;
	struct dns *d;
	struct result r;

	fake_start(&fs, rules, NRULES);
	d = open_fake(&fs, 3000);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(
	    dns_query(d, "Example.COM", DNS_TYPE_TXT, record_cb, &r), 0);
	ck_assert_uint_eq(dns_pending(d), 1);
	ck_assert_uint_eq(r.calls, 0);
	run_all(d);
	ck_assert_uint_eq(r.calls, 1);
	ck_assert_uint_eq(dns_pending(d), 0);
	ck_assert_int_eq(r.outcome, DNS_OK);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_str_eq((char *)r.data, "v=spf1 -all");
	ck_assert_str_eq(r.qname, "Example.COM");
	ck_assert_uint_ge(atomic_load(&fs.udp_queries), 1);
	dns_close(d);
	fake_stop(&fs);
}
END_TEST

START_TEST(test_nxdomain_nodata)
{
	struct fake_server fs;
	struct dns *d;
	struct result r;

	fake_start(&fs, rules, NRULES);
	d = open_fake(&fs, 3000);
	lookup(d, "nx.example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_NXDOMAIN);
	lookup(d, "nodata.example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_NODATA);
	/* a name no rule knows: the fake server says NXDOMAIN */
	lookup(d, "example.com", DNS_TYPE_MX, &r);
	ck_assert_int_eq(r.outcome, DNS_NXDOMAIN);
	dns_close(d);
	fake_stop(&fs);
}
END_TEST

START_TEST(test_servfail_refused)
{
	struct fake_server fs;
	struct dns *d;
	struct result r;

	fake_start(&fs, rules, NRULES);
	d = open_fake(&fs, 3000);
	lookup(d, "servfail.example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_SERVFAIL);
	ck_assert(r.error[0] != '\0');
	lookup(d, "refused.example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_REFUSED);
	/* the channel still works after them */
	lookup(d, "example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_OK);
	dns_close(d);
	fake_stop(&fs);
}
END_TEST

/* has_line - text holds line (a whole line, newline included). */
static bool
has_line(const char *text, const char *line)
{
	return strstr(text, line) != NULL;
}

/*
 * Registered, the lookup metrics count each lookup once where it ends, by
 * type and outcome (a CNAME followed is one lookup, a timeout is one),
 * and time it; unregistered they count nothing.
 */
START_TEST(test_metrics_counted)
{
	static char text[65536];
	struct fake_server fs;
	struct metrics m;
	struct dns *d;
	struct result r;
	char err[256];

	fake_start(&fs, rules, NRULES);
	d = open_fake(&fs, 600);
	lookup(d, "example.com", DNS_TYPE_TXT, &r); /* before: not counted */
	metrics_init(&m);
	ck_assert_int_eq(dns_metrics_register(&m, err, sizeof(err)), 0);
	lookup(d, "example.com", DNS_TYPE_TXT, &r);
	lookup(d, "alias.example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_OK);
	lookup(d, "nx.example.com", DNS_TYPE_TXT, &r);
	lookup(d, "example.com", DNS_TYPE_MX, &r);
	lookup(d, "drop.example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_TIMEOUT);
	ck_assert_uint_lt(metrics_render(&m, text, sizeof(text)), sizeof(text));
	ck_assert(has_line(text, "authready_dns_queries_total{type=\"TXT\","
	                         "outcome=\"ok\"} 2\n"));
	ck_assert(has_line(text, "authready_dns_queries_total{type=\"TXT\","
	                         "outcome=\"nxdomain\"} 1\n"));
	ck_assert(has_line(text, "authready_dns_queries_total{type=\"MX\","
	                         "outcome=\"nxdomain\"} 1\n"));
	ck_assert(has_line(text, "authready_dns_queries_total{type=\"TXT\","
	                         "outcome=\"timeout\"} 1\n"));
	ck_assert(has_line(text, "authready_dns_query_duration_seconds_count{"
	                         "type=\"TXT\"} 4\n"));
	/* the timeout took 0.6 s: it is past the 0.5 s bucket */
	ck_assert(has_line(text, "authready_dns_query_duration_seconds_bucket{"
	                         "type=\"TXT\",le=\"0.5\"} 3\n"));
	metrics_fini(&m);
	dns_close(d);
	fake_stop(&fs);
}
END_TEST

START_TEST(test_timeout)
{
	struct fake_server fs;
	struct dns *d;
	struct result r;
	uint64_t start, end;

	fake_start(&fs, rules, NRULES);
	d = open_fake(&fs, 600);
	start = now_ms();
	lookup(d, "drop.example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_TIMEOUT);
	ck_assert_uint_ge(r.at - start, 600 - 5);
	ck_assert_uint_le(r.at - start, 600 + SLACK_MS);
	/* retries went out inside the deadline */
	ck_assert_uint_ge(atomic_load(&fs.udp_queries), 2);
	/* c-ares still holds the query: nothing more reaches us */
	end = now_ms() + 1500;
	while (now_ms() < end)
		dns_run_once(d, 50);
	ck_assert_uint_eq(r.calls, 1);
	dns_close(d);
	ck_assert_uint_eq(r.calls, 1);
	fake_stop(&fs);
}
END_TEST

START_TEST(test_query_by_deadline)
{
	struct fake_server fs;
	struct dns *d;
	struct result late, early, gone;
	uint64_t start;

	/* a budget ends a lookup before the channel's own deadline, even
	 * one asked after a lookup that ends later */
	fake_start(&fs, rules, NRULES);
	d = open_fake(&fs, 3000);
	memset(&late, 0, sizeof(late));
	memset(&early, 0, sizeof(early));
	memset(&gone, 0, sizeof(gone));
	start = now_ms();
	ck_assert_int_eq(
	    dns_query(d, "drop.example.com", DNS_TYPE_TXT, record_cb, &late),
	    0);
	ck_assert_int_eq(dns_query_by(d, "drop.example.com", DNS_TYPE_TXT,
	                              start + 300, record_cb, &early),
	                 0);
	/* no time left: a time-out, through the loop like any answer */
	ck_assert_int_eq(dns_query_by(d, "example.com", DNS_TYPE_TXT, start,
	                              record_cb, &gone),
	                 0);
	ck_assert_uint_eq(gone.calls, 0);
	while (early.calls == 0) {
		ck_assert_uint_lt(now_ms() - start, RUN_LIMIT_MS);
		dns_run_once(d, 100);
	}
	ck_assert_uint_eq(gone.calls, 1);
	ck_assert_int_eq(gone.outcome, DNS_TIMEOUT);
	ck_assert_int_eq(early.outcome, DNS_TIMEOUT);
	ck_assert_uint_ge(early.at - start, 300 - 5);
	ck_assert_uint_le(early.at - start, 300 + SLACK_MS);
	ck_assert_uint_eq(late.calls, 0);
	run_all(d);
	ck_assert_uint_eq(late.calls, 1);
	ck_assert_uint_ge(late.at - start, 3000 - 5);
	dns_close(d);
	fake_stop(&fs);
}
END_TEST

START_TEST(test_timeout_close_early)
{
	struct fake_server fs;
	struct dns *d;
	struct result r, r2;

	/* closed right after the deadline, with c-ares still waiting */
	fake_start(&fs, rules, NRULES);
	d = open_fake(&fs, 200);
	lookup(d, "drop.example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_TIMEOUT);
	/* and one still pending when closed: exactly one callback */
	memset(&r2, 0, sizeof(r2));
	ck_assert_int_eq(
	    dns_query(d, "drop.example.com", DNS_TYPE_TXT, record_cb, &r2), 0);
	dns_run_once(d, 20);
	ck_assert_uint_eq(r2.calls, 0);
	dns_close(d);
	ck_assert_uint_eq(r.calls, 1);
	ck_assert_uint_eq(r2.calls, 1);
	ck_assert_int_eq(r2.outcome, DNS_ERROR);
	fake_stop(&fs);
}
END_TEST

START_TEST(test_cname_requery)
{
	struct fake_server fs;
	struct dns *d;
	struct result r;

	fake_start(&fs, rules, NRULES);
	d = open_fake(&fs, 3000);
	lookup(d, "alias.example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_OK);
	ck_assert_str_eq((char *)r.data, "via cname");
	ck_assert_str_eq(r.qname, "alias.example.com");
	ck_assert_str_eq(r.final_name, "target.example.net");
	ck_assert_uint_eq(r.hops, 1);
	ck_assert_uint_ge(atomic_load(&fs.udp_queries), 2);
	/* a loop across two queries ends at the hop limit */
	lookup(d, "loop1.example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_CNAME_LOOP);
	ck_assert_uint_eq(r.hops, DNS_CNAME_HOPS_MAX);
	dns_close(d);
	fake_stop(&fs);
}
END_TEST

START_TEST(test_cname_deadline)
{
	struct fake_server fs;
	struct dns *d;
	struct result r;
	uint64_t start;

	/* the deadline covers the re-query too */
	fake_start(&fs, rules, NRULES);
	d = open_fake(&fs, 500);
	start = now_ms();
	lookup(d, "slowalias.example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_TIMEOUT);
	ck_assert_str_eq(r.final_name, "drop.example.com");
	ck_assert_uint_le(r.at - start, 500 + SLACK_MS);
	dns_close(d);
	fake_stop(&fs);
}
END_TEST

START_TEST(test_truncated_tcp)
{
	struct fake_server fs;
	struct dns *d;
	struct result r;
	size_t i;

	fake_start(&fs, rules, NRULES);
	d = open_fake(&fs, 3000);
	lookup(d, "big.example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_OK);
	ck_assert_uint_eq(r.len, 3000);
	for (i = 0; i < r.len; i += 255)
		ck_assert_int_eq(r.data[i], 'a' + (int)(i % 26));
	ck_assert_uint_ge(atomic_load(&fs.udp_queries), 1);
	ck_assert_uint_ge(atomic_load(&fs.tcp_queries), 1);
	dns_close(d);
	fake_stop(&fs);
}
END_TEST

START_TEST(test_truncated_tcp_slow)
{
	struct fake_server fs;
	struct dns *d;
	struct result r;
	uint64_t start;

	/*
	 * A TCP answer that takes 700 ms, inside a 2 s deadline: longer
	 * than a UDP try of this channel (at most 2000 * 16 / 63 = 507 ms),
	 * which is all c-ares' own fallback would give it.  The lookup
	 * must wait for it.
	 */
	fake_start(&fs, rules, NRULES);
	d = open_fake(&fs, 2000);
	start = now_ms();
	lookup(d, "slowbig.example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_OK);
	ck_assert_uint_eq(r.len, 3000);
	ck_assert_uint_ge(r.at - start, FAKE_TCP_DELAY_MS);
	ck_assert_uint_eq(atomic_load(&fs.tcp_queries), 1);
	/* the next name starts over UDP: a plain answer, no TCP */
	lookup(d, "example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_OK);
	ck_assert_uint_eq(atomic_load(&fs.tcp_queries), 1);
	dns_close(d);
	fake_stop(&fs);

	/* a TCP answer later than the deadline: a timeout at the deadline */
	fake_start(&fs, rules, NRULES);
	d = open_fake(&fs, 400);
	start = now_ms();
	lookup(d, "slowbig.example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_TIMEOUT);
	ck_assert_uint_le(r.at - start, 400 + SLACK_MS);
	dns_close(d);
	fake_stop(&fs);
}
END_TEST

START_TEST(test_many_in_flight)
{
	enum { N = 500 };
	struct fake_server fs;
	struct dns *d;
	struct result *r = calloc(N, sizeof(*r));
	char name[64];
	size_t i, ok = 0;

	ck_assert_ptr_nonnull(r);
	fake_start(&fs, rules, NRULES);
	d = open_fake(&fs, 5000);
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "n%zu.many.example", i);
		ck_assert_int_eq(
		    dns_query(d, name, DNS_TYPE_TXT, record_cb, &r[i]), 0);
	}
	ck_assert_uint_eq(dns_pending(d), N);
	run_all(d);
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "n%zu.many.example", i);
		ck_assert_uint_eq(r[i].calls, 1);
		ck_assert_msg(r[i].outcome == DNS_OK, "%zu: %s %s", i,
		              dns_outcome_name(r[i].outcome), r[i].error);
		ck_assert_str_eq((char *)r[i].data, name);
		ok++;
	}
	ck_assert_uint_eq(ok, N);
	dns_close(d);
	fake_stop(&fs);
	free(r);
}
END_TEST

START_TEST(test_wrong_id)
{
	struct fake_server fs;
	struct dns *d;
	struct result r;

	fake_start(&fs, rules, NRULES);
	d = open_fake(&fs, 500);
	lookup(d, "wrongid.example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_OK);
	ck_assert_str_eq((char *)r.data, "right");
	lookup(d, "onlywrong.example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_TIMEOUT);
	dns_close(d);
	fake_stop(&fs);
}
END_TEST

START_TEST(test_failover)
{
	static const struct fake_rule silent[] = {
	    {"example.com", DNS_TYPE_TXT, FAKE_DROP, 0, NULL, NULL, 0}};
	struct fake_server dead, live;
	struct dns_options o;
	struct dns *d = NULL;
	struct result r;
	char err[256] = "";

	fake_start(&dead, silent, 1);
	fake_start(&live, rules, NRULES);
	memset(&o, 0, sizeof(o));
	snprintf(o.servers[0], sizeof(o.servers[0]), "127.0.0.1:%u",
	         (unsigned)dead.port);
	snprintf(o.servers[1], sizeof(o.servers[1]), "127.0.0.1:%u",
	         (unsigned)live.port);
	o.nservers = 2;
	o.timeout_ms = 2000;
	ck_assert_msg(dns_open(&d, &o, err, sizeof(err)) == 0, "%s", err);
	lookup(d, "example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_OK);
	ck_assert_uint_ge(atomic_load(&dead.udp_queries), 1);
	ck_assert_uint_ge(atomic_load(&live.udp_queries), 1);
	dns_close(d);
	fake_stop(&dead);
	fake_stop(&live);
}
END_TEST

START_TEST(test_unaskable_names)
{
	struct fake_server fs;
	struct dns *d;
	struct result r;
	char huge[DNS_NAME_TEXT_MAX + 10];

	fake_start(&fs, rules, NRULES);
	d = open_fake(&fs, 1000);
	/* each is reported from the loop, not from dns_query */
	lookup(d, "a..example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_ERROR);
	lookup(d, "a\\000b.example.com", DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_ERROR);
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	lookup(d, huge, DNS_TYPE_TXT, &r);
	ck_assert_int_eq(r.outcome, DNS_ERROR);
	ck_assert_uint_eq(atomic_load(&fs.udp_queries), 0);
	ck_assert_int_eq(dns_query(d, NULL, DNS_TYPE_TXT, record_cb, &r), -1);
	ck_assert_int_eq(dns_query(d, "x", DNS_TYPE_TXT, NULL, &r), -1);
	dns_close(d);
	fake_stop(&fs);
}
END_TEST

/* A callback that starts another lookup on the same channel. */
struct chain {
	struct dns *d;
	struct result first;
	struct result second;
};

static void
chain_cb(void *arg, const struct dns_answer *ans)
{
	struct chain *c = arg;

	record_cb(&c->first, ans);
	ck_assert_int_eq(dns_query(c->d, "n1.many.example", DNS_TYPE_TXT,
	                           record_cb, &c->second),
	                 0);
	ck_assert_uint_eq(c->second.calls, 0);
}

START_TEST(test_query_from_callback)
{
	struct fake_server fs;
	struct chain c;
	struct resolver res;

	memset(&c, 0, sizeof(c));
	fake_start(&fs, rules, NRULES);
	c.d = open_fake(&fs, 3000);
	res = dns_resolver(c.d);
	ck_assert_ptr_eq(res.impl, c.d);
	ck_assert_int_eq(
	    res.query(res.impl, "example.com", DNS_TYPE_TXT, chain_cb, &c), 0);
	run_all(c.d);
	ck_assert_uint_eq(c.first.calls, 1);
	ck_assert_uint_eq(c.second.calls, 1);
	ck_assert_int_eq(c.second.outcome, DNS_OK);
	ck_assert_str_eq((char *)c.second.data, "n1.many.example");
	dns_close(c.d);
	fake_stop(&fs);
}
END_TEST

START_TEST(test_run_once_waits)
{
	struct fake_server fs;
	struct dns *d;
	uint64_t start;

	fake_start(&fs, rules, NRULES);
	d = open_fake(&fs, 1000);
	/* nothing pending: returns at once with -1, waits with 100 */
	start = now_ms();
	dns_run_once(d, -1);
	ck_assert_uint_lt(now_ms() - start, 50);
	start = now_ms();
	dns_run_once(d, 100);
	ck_assert_uint_ge(now_ms() - start, 90);
	dns_run(d);
	dns_close(d);
	fake_stop(&fs);
}
END_TEST

START_TEST(test_server_parse)
{
	static const char *const good[] = {
	    "127.0.0.1",    "127.0.0.1:53",        "192.0.2.1:65535",
	    "::1",          "[::1]:5353",          "[2001:db8::1]",
	    "2001:db8::53", "[::ffff:127.0.0.1]:1"};
	static const char *const bad[] = {
	    "",           "localhost",     "127.0.0.1:0",   "127.0.0.1:65536",
	    "127.0.0.1:", "127.0.0.1:53x", "127.0.0.1:+53", "127.0.0.1:000053",
	    "[::1",       "[::1]x",        "[::1]:",        "[127.0.0.1]:53",
	    "300.1.1.1",  " 127.0.0.1",    "127.0.0.1 ",    "::1]:53",
	    "[]:53",      "1.2.3.4:5:6:x"};
	char err[128], longname[100];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(*good); i++)
		ck_assert_msg(dns_server_parse(good[i], err, sizeof(err)) == 0,
		              "%s: %s", good[i], err);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err[0] = '\0';
		ck_assert_msg(dns_server_parse(bad[i], err, sizeof(err)) == -1,
		              "accepted '%s'", bad[i]);
		ck_assert(err[0] != '\0');
	}
	memset(longname, '1', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(dns_server_parse(longname, err, sizeof(err)), -1);
	ck_assert_int_eq(dns_server_parse(NULL, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_open_options)
{
	struct dns_options o;
	struct dns *d = NULL;
	char err[256];

	memset(&o, 0, sizeof(o));
	o.timeout_ms = 1000;
	snprintf(o.servers[0], sizeof(o.servers[0]), "[::1]:5353");
	snprintf(o.servers[1], sizeof(o.servers[1]), "127.0.0.1");
	o.nservers = 2;
	ck_assert_msg(dns_open(&d, &o, err, sizeof(err)) == 0, "%s", err);
	dns_close(d);
	/* default servers from resolv.conf: opening asks nobody */
	o.nservers = 0;
	ck_assert_msg(dns_open(&d, &o, err, sizeof(err)) == 0, "%s", err);
	dns_close(d);
	snprintf(o.servers[0], sizeof(o.servers[0]), "dns.example");
	o.nservers = 1;
	err[0] = '\0';
	ck_assert_int_eq(dns_open(&d, &o, err, sizeof(err)), -1);
	ck_assert_ptr_null(d);
	ck_assert(err[0] != '\0');
	snprintf(o.servers[0], sizeof(o.servers[0]), "127.0.0.1");
	o.timeout_ms = 0;
	ck_assert_int_eq(dns_open(&d, &o, err, sizeof(err)), -1);
	o.timeout_ms = 1000;
	o.nservers = DNS_SERVERS_MAX + 1;
	ck_assert_int_eq(dns_open(&d, &o, err, sizeof(err)), -1);
	dns_close(NULL);
	ck_assert_uint_eq(dns_pending(NULL), 0);
}
END_TEST

static Suite *
dns_suite(void)
{
	Suite *s = suite_create("dns");
	TCase *tc = tcase_create("loopback");

	tcase_add_test(tc, test_txt);
	tcase_add_test(tc, test_nxdomain_nodata);
	tcase_add_test(tc, test_servfail_refused);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_metrics_counted);
	tcase_add_test(tc, test_timeout_close_early);
	tcase_add_test(tc, test_cname_requery);
	tcase_add_test(tc, test_cname_deadline);
	tcase_add_test(tc, test_query_by_deadline);
	tcase_add_test(tc, test_truncated_tcp);
	tcase_add_test(tc, test_truncated_tcp_slow);
	tcase_add_test(tc, test_many_in_flight);
	tcase_add_test(tc, test_wrong_id);
	tcase_add_test(tc, test_failover);
	tcase_add_test(tc, test_unaskable_names);
	tcase_add_test(tc, test_query_from_callback);
	tcase_add_test(tc, test_run_once_waits);
	tcase_add_test(tc, test_server_parse);
	tcase_add_test(tc, test_open_options);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dns_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
