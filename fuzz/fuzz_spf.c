/*
 * fuzz_spf.c - libFuzzer target for the SPF parser, the macro expander
 * and check_host() on hostile records.
 *
 * The first input byte picks the target; the rest is the input:
 *	0	spf_parse() of the bytes as a record
 *	1, 2	spf_macro_expand() as a domain-spec (1) or exp text (2)
 *	3	spf_target_name() on a bounded copy
 *	4	spf_validate() of example.com with an egress range and an
 *		address and an include to reach, on the DNS below (the
 *		range is probed at the cuts the record's networks make);
 *		its check_result
 *		must be printable and terminated (report.h)
 *	other	check_host() where every TXT answer is the bytes, every
 *		A/AAAA lookup finds the client, every MX and PTR lookup
 *		names two hosts; answers come from an in-memory queue.
 *		The outcome's reason and explanation must be printable.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE
 *	-Isrc/lib fuzz/fuzz_spf.c libauthready.a (+ its libraries)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"
#include "fuzz_util.h"
#include "resolver.h"
#include "spf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PENDING_MAX 128
#define FUZZ_QUERIES_MAX 400

struct fuzz_q {
	char name[DNS_NAME_TEXT_MAX];
	uint16_t type;
	resolver_cb cb;
	void *arg;
};

struct fuzz_dns {
	const uint8_t *rec;
	size_t len;
	struct fuzz_q q[FUZZ_PENDING_MAX];
	size_t head, tail, total;
};

static int
fuzz_query(void *impl, const char *name, uint16_t qtype, resolver_cb cb,
           void *arg)
{
	struct fuzz_dns *f = impl;
	struct fuzz_q *q;

	if (f->tail - f->head >= FUZZ_PENDING_MAX ||
	    f->total >= FUZZ_QUERIES_MAX)
		return -1;
	f->total++;
	q = &f->q[f->tail++ % FUZZ_PENDING_MAX];
	snprintf(q->name, sizeof(q->name), "%s", name);
	q->type = qtype;
	q->cb = cb;
	q->arg = arg;
	return 0;
}

/* fuzz_answer - canned records of the asked type. */
static void
fuzz_answer(const struct fuzz_dns *f, const struct fuzz_q *q,
            struct dns_answer *ans, struct dns_rr *rrs, unsigned char *buf)
{
	static const unsigned char v4[4] = {192, 0, 2, 1};
	static const unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

	dns_answer_init(ans, q->name, q->type, DNS_OK, NULL);
	ans->rrs = rrs;
	ans->count = 1;
	memset(rrs, 0, 2 * sizeof(*rrs));
	rrs[0].type = rrs[1].type = q->type;
	switch (q->type) {
	case DNS_TYPE_TXT:
		memcpy(buf, f->rec, f->len);
		buf[f->len] = '\0';
		rrs[0].data = buf;
		rrs[0].len = f->len;
		break;
	case DNS_TYPE_A:
	case DNS_TYPE_AAAA:
		rrs[0].data =
		    (unsigned char *)(q->type == DNS_TYPE_A ? v4 : v6);
		rrs[0].len = q->type == DNS_TYPE_A ? 4 : 16;
		break;
	default:
		ans->count = 2;
		rrs[0].data = (unsigned char *)"a.example.com";
		rrs[0].len = 13;
		rrs[1].data = (unsigned char *)"b.example.org";
		rrs[1].len = 13;
		break;
	}
}

static void
fuzz_done(void *arg, struct spf_outcome *out)
{
	int *calls = arg;

	(*calls)++;
	fuzz_printable(out->reason, sizeof(out->reason));
	fuzz_printable(out->explanation, sizeof(out->explanation));
	if (out->reason[0] == '\0')
		abort();
}

/* fuzz_drain - answer every queued query, in order. */
static void
fuzz_drain(struct fuzz_dns *f, unsigned char *buf)
{
	struct dns_rr rrs[2];

	while (f->head != f->tail) {
		struct fuzz_q q = f->q[f->head++ % FUZZ_PENDING_MAX];
		struct dns_answer ans;

		fuzz_answer(f, &q, &ans, rrs, buf);
		q.cb(q.arg, &ans);
	}
}

static void
fuzz_validated(void *arg, struct check_result *res)
{
	int *calls = arg;

	(*calls)++;
	fuzz_check_result(res);
}

/* fuzz_validate - spf_validate() on the canned DNS. */
static void
fuzz_validate(const uint8_t *data, size_t size)
{
	static struct fuzz_dns f;
	static unsigned char buf[65536];
	static struct spf_validate_request req;
	static struct check_result res;
	struct resolver resv = {&f, fuzz_query, NULL};
	int calls = 0;

	memset(&f, 0, sizeof(f));
	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	f.rec = data;
	f.len = size < sizeof(buf) ? size : sizeof(buf) - 1;
	snprintf(req.domain, sizeof(req.domain), "example.com");
	snprintf(req.include, sizeof(req.include), "amazonses.com");
	spf_range_parse("192.0.2.0/24", &req.egress[0]);
	spf_range_parse("2001:db8::1", &req.egress[1]);
	req.negress = 2;
	if (spf_validate(&resv, &req, &res, fuzz_validated, &calls) == 1) {
		fuzz_check_result(&res);
		return;
	}
	fuzz_drain(&f, buf);
	if (calls != 1)
		abort();
}

static void
fuzz_check_host(const uint8_t *data, size_t size)
{
	static struct fuzz_dns f;
	static unsigned char buf[65536];
	struct resolver res = {&f, fuzz_query, NULL};
	struct spf_request req = {.sender = "user-a+b@example.com",
	                          .helo = "helo.example.net",
	                          .now = 1};
	struct spf_outcome out;
	int calls = 0;

	memset(&f, 0, sizeof(f));
	f.rec = data;
	f.len = size < sizeof(buf) ? size : sizeof(buf) - 1;
	spf_addr_parse(size % 2 ? "2001:db8::1" : "192.0.2.1", &req.ip);
	if (spf_check_host(&res, &req, &out, fuzz_done, &calls) == 1)
		return;
	fuzz_drain(&f, buf);
	if (calls != 1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct spf_record rec;
	struct spf_macro_ctx ctx = {.sender = "l@o.example",
	                            .local = "l",
	                            .sender_domain = "o.example",
	                            .domain = "d.example",
	                            .helo = "h.example",
	                            .p = "unknown",
	                            .now = 1};
	char out[SPF_EXPAND_MAX], err[256], name[600];

	if (size == 0)
		return 0;
	spf_addr_parse("2001:db8::1", &ctx.ip);
	switch (data[0]) {
	case 0:
		spf_parse(data + 1, size - 1, &rec, err, sizeof(err));
		break;
	case 1:
	case 2:
		spf_macro_expand((const char *)data + 1, size - 1, &ctx,
		                 data[0] == 2, out, sizeof(out), NULL, err,
		                 sizeof(err));
		break;
	case 3:
		size =
		    size - 1 < sizeof(name) - 1 ? size - 1 : sizeof(name) - 1;
		memcpy(name, data + 1, size);
		name[size] = '\0';
		spf_target_name(name);
		break;
	case 4:
		fuzz_validate(data + 1, size - 1);
		break;
	default:
		fuzz_check_host(data + 1, size - 1);
		break;
	}
	return 0;
}
