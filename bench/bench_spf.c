/*
 * bench_spf.c - CPU per SPF evaluation against parsing alone.
 *
 * A policy shaped like the large providers' (ten levels of include, each
 * record 300-450 bytes of ip4/ip6 ranges, as _spf.google.com and
 * spf.protection.outlook.com publish) is answered from memory.  The
 * program times, in process CPU time, (a) spf_parse() of the eleven
 * records and (b) a full spf_check_host() whose client matches only in
 * the deepest record, so every record is fetched, parsed and walked; it
 * prints both per run and the ratio (b)/(a).
 *
 * Usage: bench_spf [iterations]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsmsg.h"
#include "resolver.h"
#include "spf.h"

#define BENCH_LEVELS 11 /* the domain and ten includes */
#define BENCH_REC_MAX 512
#define BENCH_PENDING_MAX 16

struct bench_q {
	const char *name;
	resolver_cb cb;
	void *arg;
};

struct bench_dns {
	char names[BENCH_LEVELS][64];
	char recs[BENCH_LEVELS][BENCH_REC_MAX];
	struct dns_answer ans[BENCH_LEVELS];
	struct dns_rr rrs[BENCH_LEVELS];
	struct bench_q q[BENCH_PENDING_MAX];
	size_t head, tail;
};

static struct bench_dns dns;

static int
bench_query(void *impl, const char *name, uint16_t qtype, resolver_cb cb,
            void *arg)
{
	struct bench_dns *d = impl;
	struct bench_q *q;

	(void)qtype;
	if (d->tail - d->head >= BENCH_PENDING_MAX)
		return -1;
	q = &d->q[d->tail++ % BENCH_PENDING_MAX];
	q->name = name;
	q->cb = cb;
	q->arg = arg;
	return 0;
}

/* bench_run - answer queued TXT queries from the prebuilt answers. */
static void
bench_run(struct bench_dns *d)
{
	static struct dns_answer nx;

	while (d->head != d->tail) {
		struct bench_q q = d->q[d->head++ % BENCH_PENDING_MAX];
		const struct dns_answer *a = &nx;
		size_t i;

		for (i = 0; i < BENCH_LEVELS; i++)
			if (strcmp(q.name, d->names[i]) == 0)
				a = &d->ans[i];
		if (a == &nx)
			dns_answer_init(&nx, q.name, DNS_TYPE_TXT, DNS_NXDOMAIN,
			                NULL);
		q.cb(q.arg, a);
	}
}

/* bench_zone - records of provider size, each including the next. */
static void
bench_zone(struct bench_dns *d)
{
	size_t i, k, n;

	for (i = 0; i < BENCH_LEVELS; i++) {
		char *r = d->recs[i];

		snprintf(d->names[i], sizeof(d->names[i]),
		         i == 0 ? "mail.example.com"
		                : "_spf%zu.provider.example",
		         i);
		n = (size_t)snprintf(r, BENCH_REC_MAX, "v=spf1");
		for (k = 0; k < 14; k++)
			n += (size_t)snprintf(r + n, BENCH_REC_MAX - n,
			                      " ip4:%zu.%zu.0.0/16", 20 + i,
			                      10 + k);
		for (k = 0; k < 4; k++)
			n += (size_t)snprintf(r + n, BENCH_REC_MAX - n,
			                      " ip6:2001:db8:%zx:%zx::/64", i,
			                      k);
		if (i + 1 < BENCH_LEVELS)
			n += (size_t)snprintf(
			    r + n, BENCH_REC_MAX - n,
			    " include:_spf%zu.provider.example", i + 1);
		snprintf(r + n, BENCH_REC_MAX - n, " ~all");
		dns_answer_init(&d->ans[i], d->names[i], DNS_TYPE_TXT, DNS_OK,
		                NULL);
		d->rrs[i].type = DNS_TYPE_TXT;
		d->rrs[i].data = (unsigned char *)r;
		d->rrs[i].len = strlen(r);
		d->ans[i].rrs = &d->rrs[i];
		d->ans[i].count = 1;
	}
}

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench_done(void *arg, struct spf_outcome *out)
{
	*(enum spf_result *)arg = out->result;
}

int
main(int argc, char **argv)
{
	static struct spf_record rec;
	struct resolver res = {&dns, bench_query, NULL};
	struct spf_request req = {.sender = "bounce@mail.example.com",
	                          .helo = "mta.example.net",
	                          .now = 1};
	struct spf_outcome out;
	enum spf_result r = SPF_NONE;
	long iters = argc > 1 ? atol(argv[1]) : 20000, i;
	size_t k, bytes = 0;
	double t0, parse, eval;
	char err[256];

	if (iters <= 0)
		iters = 20000;
	bench_zone(&dns);
	for (k = 0; k < BENCH_LEVELS; k++)
		bytes += dns.rrs[k].len;
	spf_addr_parse("30.23.1.1", &req.ip); /* in the deepest record */
	t0 = cpu_now();
	for (i = 0; i < iters; i++)
		for (k = 0; k < BENCH_LEVELS; k++)
			if (spf_parse(dns.rrs[k].data, dns.rrs[k].len, &rec,
			              err, sizeof(err)) != 0) {
				fprintf(stderr, "bench_spf: %s\n", err);
				return 1;
			}
	parse = cpu_now() - t0;
	t0 = cpu_now();
	for (i = 0; i < iters; i++) {
		r = SPF_NONE;
		if (spf_check_host(&res, &req, &out, bench_done, &r) == 0)
			bench_run(&dns);
		if (r != SPF_PASS) {
			fprintf(stderr, "bench_spf: got %s: %s\n",
			        spf_result_name(r), out.reason);
			return 1;
		}
	}
	eval = cpu_now() - t0;
	printf("records: %d (10 includes deep), %zu bytes in all, largest "
	       "%zu\n",
	       BENCH_LEVELS, bytes, dns.rrs[0].len);
	printf("parse only:      %8.2f us per policy\n", parse * 1e6 / iters);
	printf("parse+evaluate:  %8.2f us per check_host\n",
	       eval * 1e6 / iters);
	printf("ratio evaluate/parse: %.2f\n", parse > 0 ? eval / parse : 0.0);
	return 0;
}
