/*
 * dns.c - the c-ares channel, its poll() loop and per-lookup deadlines.
 *
 * SYNOPSIS
 *	int dns_open(struct dns **out, const struct dns_options *opts,
 *	    char *err, size_t errlen);
 *	void dns_close(struct dns *d);
 *	int dns_query(struct dns *d, const char *name, uint16_t qtype,
 *	    resolver_cb cb, void *arg);
 *	int dns_query_by(struct dns *d, const char *name, uint16_t qtype,
 *	    uint64_t deadline_ms, resolver_cb cb, void *arg);
 *	struct resolver dns_resolver(struct dns *d);
 *	size_t dns_pending(const struct dns *d);
 *	void dns_run(struct dns *d);
 *	void dns_run_once(struct dns *d, int max_wait_ms);
 *	void dns_set_wake_fd(struct dns *d, int fd);
 *	int dns_server_parse(const char *text, char *err, size_t errlen);
 *	int dns_metrics_register(struct metrics *m, char *err,
 *	    size_t errlen);
 *
 * DESCRIPTION
 *	One struct dns owns one c-ares channel (EDNS0 with a 1232-octet
 *	payload, no search list, RCODE errors passed through so SERVFAIL
 *	and REFUSED are reported as such) and the sockets c-ares tells it
 *	about; dns_run_once() poll()s them, so there is no FD_SETSIZE
 *	limit.  Servers come from opts->servers, or /etc/resolv.conf.
 *
 *	Each lookup has a deadline of timeout_ms from dns_query(), CNAME
 *	re-queries included, or the earlier one dns_query_by() was given
 *	(what is left of a check's budget).  c-ares' own per-try timeouts
 *	are sized so that its retries end at or after the deadline: the
 *	deadline, not c-ares, decides when a lookup times out.  c-ares
 *	1.18 cannot cancel one query, so a lookup that timed out stays
 *	allocated, silent, until c-ares calls back for it (or the channel
 *	is destroyed).
 *
 *	Truncated answers: the UDP channel hands a reply with TC set back
 *	(ARES_FLAG_IGNTC) and the lookup asks again on a second channel
 *	that only uses TCP (ARES_FLAG_USEVC), one try per server sized to
 *	the whole timeout.  c-ares' own fallback would give the TCP query a
 *	single per-try timeout of the UDP channel (it never retries a query
 *	over the connection it was sent on), a fraction of the deadline, so
 *	a slow TCP answer would fail a lookup with time left.
 *
 *	Answers (also for RCODE errors) are parsed by dnsmsg_parse(); an
 *	answer that ends in a CNAME whose target is not in it is followed
 *	with a new query for the target, carrying the hop count.
 *
 *	Callbacks: every lookup that dns_query() accepted gets exactly one
 *	callback, always from dns_run_once() (or dns_run()), never from
 *	inside dns_query().  Results are queued as they complete and handed
 *	out at the end of dns_run_once(), in completion order; a lookup
 *	started from a callback is delivered by a later dns_run_once().
 *	dns_close() delivers what is still pending with DNS_ERROR ("resolver
 *	closed") before it returns; dns_query() fails from then on.  A
 *	callback must not call dns_close().
 *
 *	Metrics: every lookup is counted once, where it completes
 *	(dns_complete), by query type and outcome, with its time from
 *	dns_query() in a histogram by type; a program that does not
 *	register them (the CLI) pays a pointer test.
 *
 * DIAGNOSTICS
 *	dns_open() and dns_server_parse() return -1 with a message in err.
 *	dns_query() returns -1 (and never calls back) only when out of
 *	memory or when the channel is closing; a name that cannot be asked
 *	is reported through the callback as DNS_ERROR.
 *
 * BUGS
 *	c-ares 1.18 turns EDNS0 off for the whole channel the first time a
 *	server answers SERVFAIL, FORMERR or NOTIMP to an EDNS query; larger
 *	answers then come over TCP after a truncated UDP reply.
 */
#include "dns.h"

#include <ares.h>
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "dnsio.h"
#include "errbuf.h"
#include "dnsmsg.h"
#include "metrics.h"
#include "text.h"

#define DNS_CLASS_IN 1
#define DNS_EDNS_PAYLOAD 1232 /* DNS flag day 2020 */
#define DNS_TRIES 3           /* rounds over the server list */
#define DNS_TRY_MIN_MS 10     /* shortest c-ares per-try timeout */
#define DNS_TIMEOUT_SCAN_MAX                                                   \
	64 /* lookups in flight before we stop asking c-ares for its next      \
	      timeout */
#define DNS_RETRY_TICK_MS 50 /* then wake this often for its retries */
#define DNS_RCVBUF (1 << 20) /* socket receive buffer (capped by rmem_max) */
#define DNS_PORT_DEFAULT 53
#define DNS_PORT_DIGITS_MAX 5
#define DNS_SERVERS_CSV_MAX (DNS_SERVERS_MAX * (DNS_SERVER_TEXT_MAX + 8))

/* Where a lookup is: waiting for c-ares, queued for its callback, done. */
enum dns_lookup_state {
	DNS_LOOKUP_ACTIVE,
	DNS_LOOKUP_READY,
	DNS_LOOKUP_DONE,
};

struct dns_lookup {
	struct dns *d;
	struct dns_lookup *prev; /* in d->active or d->ready */
	struct dns_lookup *next;
	enum dns_lookup_state state;
	bool in_ares;      /* c-ares still holds a query for this lookup */
	bool over_tcp;     /* the current name is asked on tcp_channel */
	uint64_t deadline; /* CLOCK_MONOTONIC milliseconds */
	uint64_t started;  /* microseconds, for the duration metric */
	resolver_cb cb;
	void *arg;
	/* while active: qname as asked, final_name the name being asked */
	struct dns_answer ans;
};

struct dns_list {
	struct dns_lookup *head;
	struct dns_lookup *tail;
};

struct dns {
	ares_channel channel;     /* UDP, truncated replies handed back */
	ares_channel tcp_channel; /* TCP only, for those */
	struct dnsio *io;         /* both channels' socket I/O, UDP batched */
	unsigned timeout_ms;
	struct pollfd *fds; /* the sockets c-ares wants watched */
	size_t nfds;
	size_t fdcap;
	struct pollfd *scratch; /* what poll() gets: fds may change */
	size_t scratchcap;
	struct dns_list active; /* by deadline, earliest first */
	struct dns_list ready;  /* completed, callback not run yet */
	size_t pending;
	bool closing;
	int wake_fd; /* polled too: readable ends a wait (-1: none) */
};

/* c-ares statuses that come without a message to parse. */
static const struct dns_status {
	int status;
	enum dns_outcome outcome;
	const char *error;
} dns_statuses[] = {
    {ARES_ENODATA, DNS_NODATA, NULL},
    {ARES_ENOTFOUND, DNS_NXDOMAIN, "no such domain (NXDOMAIN)"},
    {ARES_ESERVFAIL, DNS_SERVFAIL, "server failure (SERVFAIL)"},
    {ARES_EREFUSED, DNS_REFUSED, "query refused (REFUSED)"},
    {ARES_EFORMERR, DNS_FORMERR, "server reported a format error"},
    {ARES_ETIMEOUT, DNS_TIMEOUT, "no answer from the DNS servers"},
    {ARES_ECONNREFUSED, DNS_ERROR, "no usable answer from the servers"},
    {ARES_EBADNAME, DNS_ERROR, "name cannot be queried"},
    {ARES_ENOMEM, DNS_ERROR, "out of memory"},
    {ARES_EDESTRUCTION, DNS_ERROR, "resolver closed"},
};

/* The metrics' label values: query types (the last one for the rest)
 * and outcomes (enum dns_outcome's order, dnsmsg.c's names). */
static const struct {
	uint16_t qtype;
	const char *name;
} dns_metric_types[] = {
    {DNS_TYPE_TXT, "TXT"}, {DNS_TYPE_MX, "MX"},
    {DNS_TYPE_A, "A"},     {DNS_TYPE_AAAA, "AAAA"},
    {DNS_TYPE_PTR, "PTR"}, {DNS_TYPE_CNAME, "CNAME"},
    {0, "other"},
};
#define DNS_METRIC_TYPES (sizeof(dns_metric_types) / sizeof(*dns_metric_types))
#define DNS_METRIC_OUTCOMES ((size_t)DNS_ERROR + 1)
static const char *dns_metric_type_names[DNS_METRIC_TYPES];
static const char *dns_metric_outcome_names[DNS_METRIC_OUTCOMES];

static struct metrics_family dns_metric_queries = {
    .name = "authready_dns_queries_total",
    .help = "DNS lookups by query type and outcome (CNAME chains followed "
            "count once).",
    .type = METRICS_COUNTER,
    .nlabels = 2,
    .label = {{"type", (const char *const *)dns_metric_type_names,
               DNS_METRIC_TYPES},
              {"outcome", (const char *const *)dns_metric_outcome_names,
               DNS_METRIC_OUTCOMES}},
};
static struct metrics_family dns_metric_seconds = {
    .name = "authready_dns_query_duration_seconds",
    .help = "DNS lookup time from the question to the outcome, by type.",
    .type = METRICS_HISTOGRAM,
    .nlabels = 1,
    .label = {{"type", (const char *const *)dns_metric_type_names,
               DNS_METRIC_TYPES}},
    .bounds_us = metrics_latency_bounds_us,
};

static pthread_once_t dns_library_once = PTHREAD_ONCE_INIT;
static int dns_library_status = ARES_ENOTINITIALIZED; /* set once */

/* dns_library_init - ares_library_init(), once per process. */
static void
dns_library_init(void)
{
	dns_library_status = ares_library_init(ARES_LIB_INIT_ALL);
}

/* dns_list_append - add a lookup at the tail. */
static void
dns_list_append(struct dns_list *list, struct dns_lookup *lk)
{
	lk->next = NULL;
	lk->prev = list->tail;
	if (list->tail != NULL)
		list->tail->next = lk;
	else
		list->head = lk;
	list->tail = lk;
}

/*
 * dns_list_insert - add a lookup in deadline order.  Most lookups have
 * the full timeout_ms and go at the tail; one cut short by a budget walks
 * back over the lookups that end after it.
 */
static void
dns_list_insert(struct dns_list *list, struct dns_lookup *lk)
{
	struct dns_lookup *after = list->tail;

	while (after != NULL && after->deadline > lk->deadline)
		after = after->prev;
	if (after == list->tail) {
		dns_list_append(list, lk);
		return;
	}
	lk->prev = after;
	lk->next = after != NULL ? after->next : list->head;
	lk->next->prev = lk;
	if (after != NULL)
		after->next = lk;
	else
		list->head = lk;
}

/* dns_list_remove - take a lookup out of the list that holds it. */
static void
dns_list_remove(struct dns_list *list, struct dns_lookup *lk)
{
	if (lk->prev != NULL)
		lk->prev->next = lk->next;
	else
		list->head = lk->next;
	if (lk->next != NULL)
		lk->next->prev = lk->prev;
	else
		list->tail = lk->prev;
	lk->prev = lk->next = NULL;
}

/* dns_sock_state - c-ares opened, changed or closed a socket. */
static void
dns_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns *d = data;
	size_t i;

	for (i = 0; i < d->nfds && d->fds[i].fd != fd; i++)
		continue;
	if (!readable && !writable) {
		if (i < d->nfds)
			d->fds[i] = d->fds[--d->nfds];
		return;
	}
	if (i == d->nfds) {
		if (d->nfds == d->fdcap) {
			size_t cap = d->fdcap ? 2 * d->fdcap : 8;
			struct pollfd *fds;

			/* c-ares cannot be told; its socket goes unwatched
			 * and its queries end by timeout */
			fds = realloc(d->fds, cap * sizeof(*fds));
			if (fds == NULL)
				return;
			d->fds = fds;
			d->fdcap = cap;
		}
		d->nfds++;
	}
	d->fds[i].fd = fd;
	d->fds[i].events =
	    (short)((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
	d->fds[i].revents = 0;
}

int
dns_metrics_register(struct metrics *m, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < DNS_METRIC_TYPES; i++)
		dns_metric_type_names[i] = dns_metric_types[i].name;
	for (i = 0; i < DNS_METRIC_OUTCOMES; i++)
		dns_metric_outcome_names[i] =
		    dns_outcome_name((enum dns_outcome)i);
	dns_metric_seconds.nbounds = metrics_latency_nbounds;
	if (metrics_register(m, &dns_metric_queries, err, errlen) != 0 ||
	    metrics_register(m, &dns_metric_seconds, err, errlen) != 0)
		return -1;
	return 0;
}

/* dns_count - a lookup completed: its type, outcome and time. */
static void
dns_count(const struct dns_lookup *lk, enum dns_outcome outcome)
{
	size_t t = 0;

	while (t + 1 < DNS_METRIC_TYPES &&
	       dns_metric_types[t].qtype != lk->ans.qtype)
		t++;
	metrics_add(&dns_metric_queries, t, (size_t)outcome, 1);
	metrics_observe_us(&dns_metric_seconds, t, 0,
	                   metrics_now_us() - lk->started);
}

/* dns_complete - queue the lookup's result for its callback. */
static void
dns_complete(struct dns_lookup *lk, struct dns_answer *res)
{
	struct dns *d = lk->d;

	struct dns_answer *a = &lk->ans;
	size_t n;

	dns_count(lk, res->outcome);
	/* Field by field, the large name buffers by their length: the
	 * caller asked for a->qname, which stays; res names what was asked
	 * last.  The records move to a. */
	a->outcome = res->outcome;
	a->qtype = res->qtype;
	a->cname_hops = res->cname_hops;
	a->count = res->count;
	a->rrs = res->rrs;
	res->count = 0;
	res->rrs = NULL;
	n = strnlen(res->final_name, sizeof(a->final_name) - 1);
	memcpy(a->final_name, res->final_name, n);
	a->final_name[n] = '\0';
	n = strnlen(res->error, sizeof(a->error) - 1);
	memcpy(a->error, res->error, n);
	a->error[n] = '\0';
	dns_list_remove(&d->active, lk);
	lk->state = DNS_LOOKUP_READY;
	dns_list_append(&d->ready, lk);
}

/* dns_fail - complete a lookup with an outcome and no records. */
static void
dns_fail(struct dns_lookup *lk, enum dns_outcome outcome, const char *error)
{
	struct dns_answer res;

	dns_answer_init(&res, lk->ans.qname, lk->ans.qtype, outcome, error);
	memcpy(res.final_name, lk->ans.final_name, sizeof(res.final_name));
	res.cname_hops = lk->ans.cname_hops;
	dns_complete(lk, &res);
}

/* dns_status_answer - the answer for a c-ares status without a message. */
static void
dns_status_answer(const struct dns_lookup *lk, int status,
                  struct dns_answer *res)
{
	enum dns_outcome outcome = DNS_ERROR;
	const char *error = ares_strerror(status);
	size_t i;

	for (i = 0; i < sizeof(dns_statuses) / sizeof(*dns_statuses); i++) {
		if (dns_statuses[i].status == status) {
			outcome = dns_statuses[i].outcome;
			error = dns_statuses[i].error;
			break;
		}
	}
	dns_answer_init(res, lk->ans.qname, lk->ans.qtype, outcome, error);
	memcpy(res->final_name, lk->ans.final_name, sizeof(res->final_name));
	res->cname_hops = lk->ans.cname_hops;
}

/*
 * dns_ares_name - a presentation name as c-ares 1.18 reads it: it knows
 * "\X" (X literal) but not "\DDD".  -1 for a NUL octet or bad escape.
 */
static int
dns_ares_name(const char *text, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	while (text[i] != '\0') {
		unsigned v;

		if (o + 3 > outlen)
			return -1;
		if (text[i] != '\\') {
			out[o++] = text[i++];
			continue;
		}
		if (text[i + 1] >= '0' && text[i + 1] <= '9') {
			if (text[i + 2] < '0' || text[i + 2] > '9' ||
			    text[i + 3] < '0' || text[i + 3] > '9')
				return -1;
			v = (unsigned)(text[i + 1] - '0') * 100 +
			    (unsigned)(text[i + 2] - '0') * 10 +
			    (unsigned)(text[i + 3] - '0');
			if (v == 0 || v > 255)
				return -1;
			out[o++] = '\\';
			out[o++] = (char)v;
			i += 4;
		} else if (text[i + 1] != '\0') {
			out[o++] = text[i++];
			out[o++] = text[i++];
		} else {
			return -1;
		}
	}
	out[o] = '\0';
	return 0;
}

static void dns_ares_cb(void *arg, int status, int timeouts,
                        unsigned char *abuf, int alen);

/* dns_send - ask c-ares for the lookup's current name. */
static void
dns_send(struct dns_lookup *lk)
{
	char name[2 * DNS_NAME_TEXT_MAX];

	if (dns_ares_name(lk->ans.final_name, name, sizeof(name)) < 0) {
		dns_fail(lk, DNS_ERROR, "name cannot be queried");
		return;
	}
	lk->in_ares = true;
	/* may call dns_ares_cb() before it returns: that only queues */
	ares_query(lk->over_tcp ? lk->d->tcp_channel : lk->d->channel, name,
	           DNS_CLASS_IN, lk->ans.qtype, dns_ares_cb, lk);
}

/* dns_truncated - a reply with the TC bit (RFC 1035 4.1.1). */
static bool
dns_truncated(const unsigned char *abuf, int alen)
{
	return abuf != NULL && alen >= 4 && (abuf[2] & 0x02) != 0;
}

/* dns_follow - query the target of a CNAME that ended the answer. */
static void
dns_follow(struct dns_lookup *lk, struct dns_answer *res)
{
	memcpy(lk->ans.final_name, res->final_name, sizeof(lk->ans.final_name));
	lk->ans.cname_hops = res->cname_hops;
	dns_answer_free(res);
	lk->over_tcp = false; /* a new name: UDP first */
	if (text_now_ms() >= lk->deadline)
		dns_fail(lk, DNS_TIMEOUT, "no answer within the deadline");
	else
		dns_send(lk);
}

/* dns_ares_cb - c-ares is done with one query of a lookup. */
static void
dns_ares_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_lookup *lk = arg;
	struct dns_answer res;

	(void)timeouts;
	lk->in_ares = false;
	if (lk->state != DNS_LOOKUP_ACTIVE) {
		/* timed out already; the callback has run or is queued */
		if (lk->state == DNS_LOOKUP_DONE)
			free(lk);
		return;
	}
	if (status == ARES_EDESTRUCTION || lk->d->closing) {
		dns_fail(lk, DNS_ERROR, "resolver closed");
		return;
	}
	/* Truncated over UDP: the same name again over TCP.  A TCP reply
	 * with TC (which no server should send) is taken as it is. */
	if (!lk->over_tcp && dns_truncated(abuf, alen)) {
		lk->over_tcp = true;
		if (text_now_ms() >= lk->deadline)
			dns_fail(lk, DNS_TIMEOUT,
			         "no answer within the deadline");
		else
			dns_send(lk);
		return;
	}
	/* rcode errors come with a status and the message: parse it */
	if (abuf != NULL && alen > 0)
		dnsmsg_parse(abuf, (size_t)alen, lk->ans.final_name,
		             lk->ans.qtype, lk->ans.cname_hops, &res);
	else
		dns_status_answer(lk, status, &res);
	if (res.outcome == DNS_CNAME_PENDING)
		dns_follow(lk, &res);
	else
		dns_complete(lk, &res);
}

/* dns_count_default_servers - servers c-ares finds in resolv.conf. */
static size_t
dns_count_default_servers(void)
{
	struct ares_addr_port_node *servers = NULL, *s;
	ares_channel probe;
	size_t n = 0;

	if (ares_init(&probe) != ARES_SUCCESS)
		return 1;
	if (ares_get_servers_ports(probe, &servers) == ARES_SUCCESS)
		for (s = servers; s != NULL; s = s->next)
			n++;
	ares_free_data(servers);
	ares_destroy(probe);
	return n > 0 ? n : 1;
}

/*
 * dns_channel_init - the channel, its per-try timeout sized so that
 * c-ares' retries (doubling each round, times 9/16..16/16 of jitter)
 * last at least timeout_ms over all servers.
 */
static int
dns_channel_init(struct dns *d, size_t nservers, char *err, size_t errlen)
{
	struct ares_options o;
	unsigned long rounds = (1ul << DNS_TRIES) - 1, per;
	int mask, rc;

	per = (unsigned long)d->timeout_ms * 16 / (9 * rounds * nservers);
	if (per < DNS_TRY_MIN_MS)
		per = DNS_TRY_MIN_MS;
	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_EDNS | ARES_FLAG_NOSEARCH | ARES_FLAG_NOCHECKRESP |
	          ARES_FLAG_IGNTC;
	o.timeout = (int)per; /* milliseconds, with ARES_OPT_TIMEOUTMS */
	o.tries = DNS_TRIES;
	o.ednspsz = DNS_EDNS_PAYLOAD;
	o.sock_state_cb = dns_sock_state;
	o.sock_state_cb_data = d;
	mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	       ARES_OPT_EDNSPSZ | ARES_OPT_SOCK_STATE_CB;
	/* Hundreds of answers can arrive at once (a refresh): a receive
	 * buffer they overflow turns into retries after a per-try timeout. */
	if ((d->io = dnsio_new(DNS_RCVBUF)) == NULL)
		return errbuf_fail(err, errlen, "out of memory");
	rc = ares_init_options(&d->channel, &o, mask);
	if (rc != ARES_SUCCESS) {
		dnsio_free(d->io);
		return errbuf_fail(err, errlen, "c-ares: %s",
		                   ares_strerror(rc));
	}
	dnsio_attach(d->io, d->channel);
	/* TCP: one try per server, the timeout shared among them. */
	per = (unsigned long)d->timeout_ms / nservers;
	if (per < DNS_TRY_MIN_MS)
		per = DNS_TRY_MIN_MS;
	o.flags = ARES_FLAG_USEVC | ARES_FLAG_NOSEARCH | ARES_FLAG_NOCHECKRESP;
	o.timeout = (int)per;
	o.tries = 1;
	mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	       ARES_OPT_SOCK_STATE_CB;
	rc = ares_init_options(&d->tcp_channel, &o, mask);
	if (rc != ARES_SUCCESS) {
		ares_destroy(d->channel);
		dnsio_free(d->io);
		return errbuf_fail(err, errlen, "c-ares: %s",
		                   ares_strerror(rc));
	}
	dnsio_attach(d->io, d->tcp_channel);
	return 0;
}

/* dns_port_parse - a decimal port 1..65535. */
static int
dns_port_parse(const char *text, unsigned *port)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; text[i] != '\0'; i++) {
		if (i == DNS_PORT_DIGITS_MAX || text[i] < '0' || text[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(text[i] - '0');
	}
	if (i == 0 || v == 0 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

/* dns_server_split - "ADDR", "ADDR:PORT", "[V6]" or "[V6]:PORT". */
static int
dns_server_split(const char *text, char addr[INET6_ADDRSTRLEN], int *family,
                 unsigned *port, char *err, size_t errlen)
{
	size_t len = strnlen(text, DNS_SERVER_TEXT_MAX), hostlen = len;
	const char *host = text, *colon, *portstr = NULL;
	unsigned char bin[sizeof(struct in6_addr)];

	if (len == 0 || len == DNS_SERVER_TEXT_MAX)
		return errbuf_fail(err, errlen,
		                   "DNS server: empty or too long");
	if (text[0] == '[') {
		const char *close = memchr(text, ']', len);

		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return errbuf_fail(err, errlen,
			                   "DNS server: expected [IPv6]:PORT");
		host = text + 1;
		hostlen = (size_t)(close - host);
		portstr = close[1] == ':' ? close + 2 : NULL;
	} else if ((colon = strchr(text, ':')) != NULL &&
	           strchr(colon + 1, ':') == NULL) {
		hostlen = (size_t)(colon - text);
		portstr = colon + 1;
	}
	if (hostlen == 0 || hostlen >= INET6_ADDRSTRLEN)
		return errbuf_fail(err, errlen, "DNS server: bad address");
	memcpy(addr, host, hostlen);
	addr[hostlen] = '\0';
	if (host == text && inet_pton(AF_INET, addr, bin) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		*family = AF_INET6;
	else
		return errbuf_fail(err, errlen,
		                   "DNS server: not an IPv4 or IPv6 address");
	*port = DNS_PORT_DEFAULT;
	if (portstr != NULL && dns_port_parse(portstr, port) < 0)
		return errbuf_fail(err, errlen,
		                   "DNS server: port not 1..65535");
	return 0;
}

int
dns_server_parse(const char *text, char *err, size_t errlen)
{
	char addr[INET6_ADDRSTRLEN];
	int family;
	unsigned port;

	if (text == NULL)
		return errbuf_fail(err, errlen, "DNS server: missing");
	return dns_server_split(text, addr, &family, &port, err, errlen);
}

/* dns_servers_csv - the servers as ares_set_servers_ports_csv() wants. */
static int
dns_servers_csv(const struct dns_options *opts, char *csv, size_t csvlen,
                char *err, size_t errlen)
{
	size_t i, used = 0;

	csv[0] = '\0';
	if (opts->nservers > DNS_SERVERS_MAX)
		return errbuf_fail(err, errlen, "more than %d DNS servers",
		                   DNS_SERVERS_MAX);
	for (i = 0; i < opts->nservers; i++) {
		char addr[INET6_ADDRSTRLEN];
		int family, n;
		unsigned port;

		if (dns_server_split(opts->servers[i], addr, &family, &port,
		                     err, errlen) < 0)
			return -1;
		n = snprintf(csv + used, csvlen - used,
		             family == AF_INET6 ? "%s[%s]:%u" : "%s%s:%u",
		             used ? "," : "", addr, port);
		if (n < 0 || (size_t)n >= csvlen - used)
			return errbuf_fail(err, errlen,
			                   "DNS servers: too long");
		used += (size_t)n;
	}
	return 0;
}

int
dns_open(struct dns **out, const struct dns_options *opts, char *err,
         size_t errlen)
{
	char csv[DNS_SERVERS_CSV_MAX];
	struct dns *d;
	int rc;

	if (out == NULL || opts == NULL)
		return errbuf_fail(err, errlen, "dns_open: no options");
	*out = NULL;
	if (opts->timeout_ms == 0)
		return errbuf_fail(err, errlen, "DNS timeout must be positive");
	if (dns_servers_csv(opts, csv, sizeof(csv), err, errlen) < 0)
		return -1;
	pthread_once(&dns_library_once, dns_library_init);
	if (dns_library_status != ARES_SUCCESS)
		return errbuf_fail(err, errlen, "c-ares: %s",
		                   ares_strerror(dns_library_status));
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return errbuf_fail(err, errlen, "out of memory");
	d->timeout_ms = opts->timeout_ms;
	d->wake_fd = -1;
	if (dns_channel_init(d,
	                     opts->nservers > 0 ? opts->nservers
	                                        : dns_count_default_servers(),
	                     err, errlen) < 0) {
		free(d);
		return -1;
	}
	if (csv[0] != '\0' &&
	    ((rc = ares_set_servers_ports_csv(d->channel, csv)) !=
	         ARES_SUCCESS ||
	     (rc = ares_set_servers_ports_csv(d->tcp_channel, csv)) !=
	         ARES_SUCCESS)) {
		errbuf_fail(err, errlen, "c-ares servers: %s",
		            ares_strerror(rc));
		dns_close(d);
		return -1;
	}
	*out = d;
	return 0;
}

/* dns_deliver - run the callbacks of the lookups completed so far. */
static void
dns_deliver(struct dns *d)
{
	struct dns_list batch = d->ready;
	struct dns_lookup *lk;

	/* lookups completed by these callbacks wait for the next round */
	d->ready.head = d->ready.tail = NULL;
	while ((lk = batch.head) != NULL) {
		dns_list_remove(&batch, lk);
		lk->state = DNS_LOOKUP_DONE;
		d->pending--;
		lk->cb(lk->arg, &lk->ans);
		dns_answer_free(&lk->ans);
		if (!lk->in_ares)
			free(lk);
	}
}

void
dns_close(struct dns *d)
{
	if (d == NULL)
		return;
	d->closing = true;
	/* calls back every query still in c-ares with ARES_EDESTRUCTION */
	ares_destroy(d->channel);
	ares_destroy(d->tcp_channel);
	while (d->active.head != NULL) {
		d->active.head->in_ares = false;
		dns_fail(d->active.head, DNS_ERROR, "resolver closed");
	}
	while (d->ready.head != NULL)
		dns_deliver(d);
	dnsio_free(d->io); /* after ares_destroy closed the sockets */
	free(d->fds);
	free(d->scratch);
	free(d);
}

int
dns_query(struct dns *d, const char *name, uint16_t qtype, resolver_cb cb,
          void *arg)
{
	return dns_query_by(d, name, qtype, UINT64_MAX, cb, arg);
}

int
dns_query_by(struct dns *d, const char *name, uint16_t qtype,
             uint64_t deadline_ms, resolver_cb cb, void *arg)
{
	struct dns_lookup *lk;
	uint64_t now;

	if (d == NULL || name == NULL || cb == NULL || d->closing)
		return -1;
	/* not calloc: the answer's buffers are large and set just below */
	if ((lk = malloc(sizeof(*lk))) == NULL)
		return -1;
	lk->in_ares = false;
	lk->over_tcp = false;
	lk->d = d;
	lk->cb = cb;
	lk->arg = arg;
	lk->state = DNS_LOOKUP_ACTIVE;
	lk->started = metrics_on(&dns_metric_seconds) ? metrics_now_us() : 0;
	now = text_now_ms();
	lk->deadline = now + d->timeout_ms;
	if (deadline_ms < lk->deadline)
		lk->deadline = deadline_ms;
	dns_answer_init(&lk->ans, name, qtype, DNS_OK, NULL);
	dns_list_insert(&d->active, lk);
	d->pending++;
	if (strnlen(name, DNS_NAME_TEXT_MAX) == DNS_NAME_TEXT_MAX)
		dns_fail(lk, DNS_ERROR, "name too long");
	else if (lk->deadline <= now)
		dns_fail(lk, DNS_TIMEOUT, "no time left to ask");
	else
		dns_send(lk);
	return 0;
}

/* dns_resolver_query - resolver.h's query, on this channel. */
static int
dns_resolver_query(void *impl, const char *name, uint16_t qtype, resolver_cb cb,
                   void *arg)
{
	return dns_query(impl, name, qtype, cb, arg);
}

/* dns_resolver_query_by - resolver.h's query_by, on this channel. */
static int
dns_resolver_query_by(void *impl, const char *name, uint16_t qtype,
                      uint64_t deadline_ms, resolver_cb cb, void *arg)
{
	return dns_query_by(impl, name, qtype, deadline_ms, cb, arg);
}

struct resolver
dns_resolver(struct dns *d)
{
	struct resolver r = {d, dns_resolver_query, dns_resolver_query_by};

	return r;
}

size_t
dns_pending(const struct dns *d)
{
	return d ? d->pending : 0;
}

/* dns_expire - complete the lookups whose deadline has passed. */
static void
dns_expire(struct dns *d, uint64_t now)
{
	while (d->active.head != NULL && d->active.head->deadline <= now)
		dns_fail(d->active.head, DNS_TIMEOUT,
		         "no answer within the deadline");
}

/* dns_channel_wait - wait, lowered to when channel next wants a call
 * for its timeouts (-1: no limit). */
static long long
dns_channel_wait(ares_channel channel, long long wait)
{
	struct timeval tv, *tvp;
	long long ms;

	if ((tvp = ares_timeout(channel, NULL, &tv)) == NULL)
		return wait;
	ms = (long long)tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000;
	return wait < 0 || ms < wait ? ms : wait;
}

/* dns_wait_ms - how long poll() may sleep; -1 for no limit. */
static int
dns_wait_ms(struct dns *d, int max_wait_ms, uint64_t now)
{
	long long wait = max_wait_ms < 0 ? -1 : max_wait_ms, ms;

	if (d->ready.head != NULL)
		return 0;
	/*
	 * c-ares 1.18's ares_timeout() walks every query in flight; with
	 * thousands of them that is the cost of a refresh.  While lookups
	 * are active, wake at least every DNS_RETRY_TICK_MS instead, which
	 * runs c-ares' retries at most that late.
	 */
	if (d->pending > DNS_TIMEOUT_SCAN_MAX) {
		if (wait < 0 || wait > DNS_RETRY_TICK_MS)
			wait = DNS_RETRY_TICK_MS;
	} else {
		wait = dns_channel_wait(d->channel, wait);
	}
	/* The TCP channel holds few queries: always ask it. */
	wait = dns_channel_wait(d->tcp_channel, wait);
	if (d->active.head != NULL) {
		ms = d->active.head->deadline > now
		         ? (long long)(d->active.head->deadline - now)
		         : 0;
		if (wait < 0 || ms < wait)
			wait = ms;
	}
	return wait > INT_MAX ? INT_MAX : (int)wait;
}

/* dns_poll - send the queued queries, poll() the sockets and let c-ares
 * process what is ready, and what dnsio holds for it (an error to report,
 * answers already received). */
static void
dns_poll(struct dns *d, int wait)
{
	int held[DNS_SERVERS_MAX];
	size_t i, n = d->nfds, nheld;
	int ready;

	nheld = dnsio_flush(d->io, held, DNS_SERVERS_MAX);
	for (i = 0; i < nheld && i < DNS_SERVERS_MAX; i++)
		ares_process_fd(d->channel, held[i], ARES_SOCKET_BAD);
	if (nheld > 0)
		wait = 0; /* c-ares may have queued queries: send them */

	if (n + 1 > d->scratchcap) {
		struct pollfd *p = realloc(d->scratch, (n + 1) * sizeof(*p));

		if (p == NULL) /* watch fewer; timeouts still run */
			n = d->scratchcap > 0 ? d->scratchcap - 1 : 0;
		else {
			d->scratch = p;
			d->scratchcap = n + 1;
		}
	}
	if (n > 0)
		memcpy(d->scratch, d->fds, n * sizeof(*d->scratch));
	/* The wake fd last: the caller reads it, not c-ares. */
	if (d->wake_fd >= 0 && d->scratchcap > n)
		d->scratch[n] =
		    (struct pollfd){.fd = d->wake_fd, .events = POLLIN};
	ready =
	    poll(d->scratch,
	         (nfds_t)(n + (d->wake_fd >= 0 && d->scratchcap > n)), wait);
	if (ready > 0 && d->wake_fd >= 0 && d->scratchcap > n &&
	    d->scratch[n].revents != 0)
		ready--; /* woken: c-ares' sockets may have nothing */
	if (ready <= 0) {
		ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
		ares_process_fd(d->tcp_channel, ARES_SOCKET_BAD,
		                ARES_SOCKET_BAD);
		return;
	}
	/* A socket is one channel's; the other finds no server with it and
	 * only runs its timeouts. */
	for (i = 0; i < n; i++) {
		short ev = d->scratch[i].revents;
		ares_socket_t r, w;

		if (ev == 0)
			continue;
		r = (ev & (POLLIN | POLLERR | POLLHUP | POLLNVAL))
		        ? d->scratch[i].fd
		        : ARES_SOCKET_BAD;
		w = (ev & POLLOUT) ? d->scratch[i].fd : ARES_SOCKET_BAD;
		ares_process_fd(d->channel, r, w);
		ares_process_fd(d->tcp_channel, r, w);
	}
}

void
dns_run_once(struct dns *d, int max_wait_ms)
{
	int wait;

	if (d == NULL || d->closing)
		return;
	wait = dns_wait_ms(d, max_wait_ms, text_now_ms());
	if (wait < 0 && d->nfds == 0 && d->active.head == NULL)
		wait = 0; /* nothing can happen: do not sleep forever */
	dns_poll(d, wait);
	dns_expire(d, text_now_ms());
	dns_deliver(d);
}

void
dns_set_wake_fd(struct dns *d, int fd)
{
	if (d != NULL)
		d->wake_fd = fd;
}

void
dns_run(struct dns *d)
{
	while (dns_pending(d) > 0)
		dns_run_once(d, -1);
}
