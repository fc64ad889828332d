/*
 * NAME
 *	fuzz_dmarc - libFuzzer target for the DMARC record parser
 * SYNOPSIS
 *	make -f fuzz/Makefile.fuzz top_srcdir=. builddir=BUILD all
 *	BUILD/fuzz/fuzz_dmarc -dict=fuzz/dict/fuzz_dmarc.dict CORPUS
 * DESCRIPTION
 *	Hands the input to dmarc_parse() in a heap block of exactly its
 *	size, then, split at newlines into TXT records of one answer, to
 *	dmarc_select() and dmarc_evaluate() as the answer at the domain and
 *	at the organizational domain, to dmarc_judge() with a MAIL FROM
 *	context, and, one record per walk name (a line "!" is DNS trouble),
 *	to the RFC 9989 tree walk of a long name.
 *
 *	Aborts when a result breaks the contract: an accepted record with
 *	a missing p, an out-of-range policy, alignment, pct, psd or t; a
 *	refusal without a printable sentence; an unterminated warning, or
 *	warnings counted without one; a check_result with unprintable or
 *	unterminated text; a selection index outside the answer; a walk of
 *	more than DMARC_WALK_MAX queries, or an organizational domain that
 *	is not the domain or one of its parents.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"
#include "dnsmsg.h"
#include "fuzz_util.h"
#include "report.h"

#define FUZZ_DMARC_RRS 8 /* TXT records in the fuzzed answer */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_policy - p, sp or np within the enum; unset allowed when opt. */
static void
check_policy(enum dmarc_policy p, int opt)
{
	if ((p == DMARC_POLICY_UNSET && !opt) || p < DMARC_POLICY_UNSET ||
	    p > DMARC_POLICY_REJECT)
		abort();
}

/* check_record - what an accepted record promises. */
static void
check_record(const struct dmarc_record *r)
{
	check_policy(r->p, 0);
	check_policy(r->sp, 1);
	check_policy(r->np, 1);
	if ((r->adkim != 'r' && r->adkim != 's') ||
	    (r->aspf != 'r' && r->aspf != 's') || r->pct > 100 ||
	    memchr(r->fo, '\0', sizeof(r->fo)) == NULL ||
	    (r->psd != 'y' && r->psd != 'n' && r->psd != 'u') ||
	    (r->t != 'y' && r->t != 'n'))
		abort();
}

/* fuzz_parse - dmarc_parse() on an exact-size copy. */
static void
fuzz_parse(const uint8_t *data, size_t size)
{
	unsigned char *rec = fuzz_dup(data, size);
	struct dmarc_record r;
	char err[256];

	err[0] = '\0';
	if (dmarc_parse(rec, size, &r, err, sizeof(err)) == 0) {
		check_record(&r);
		if (memchr(r.warn, '\0', sizeof(r.warn)) == NULL ||
		    (r.nwarn > 0) != (r.warn[0] != '\0'))
			abort();
		fuzz_printable(r.warn, sizeof(r.warn));
	} else {
		fuzz_printable(err, sizeof(err));
		if (err[0] == '\0')
			abort();
	}
	free(rec);
}

/* fuzz_answer - the input as up to FUZZ_DMARC_RRS TXT records. */
static void
fuzz_answer(const uint8_t *data, size_t size, struct dns_answer *ans,
            struct dns_rr *rrs)
{
	struct fuzz_part parts[FUZZ_DMARC_RRS];
	size_t i, n = fuzz_split(data, size, "\n", parts, FUZZ_DMARC_RRS);

	dns_answer_init(ans, "_dmarc.mail.example.com", DNS_TYPE_TXT,
	                n > 0 && size > 0 ? DNS_OK : DNS_NODATA, NULL);
	memset(rrs, 0, FUZZ_DMARC_RRS * sizeof(*rrs));
	for (i = 0; i < n && size > 0; i++) {
		rrs[i].type = DNS_TYPE_TXT;
		rrs[i].data =
		    (unsigned char *)fuzz_strdup(parts[i].p, parts[i].n);
		rrs[i].len = parts[i].n;
	}
	ans->rrs = size > 0 ? rrs : NULL;
	ans->count = size > 0 ? n : 0;
}

/* fuzz_evaluate - selection and evaluation of the split answer. */
static void
fuzz_evaluate(const uint8_t *data, size_t size)
{
	static const enum dmarc_policy mins[] = {
	    DMARC_POLICY_NONE, DMARC_POLICY_QUARANTINE, DMARC_POLICY_REJECT};
	struct dns_rr rrs[FUZZ_DMARC_RRS];
	struct check_result res;
	struct dns_answer ans, nx;
	size_t i, idx = (size_t)-1;
	enum dmarc_selection sel;

	fuzz_answer(data, size, &ans, rrs);
	sel = dmarc_select(&ans, &idx);
	if ((sel == DMARC_SELECT_ONE || sel == DMARC_SELECT_MANY) &&
	    idx >= ans.count)
		abort();
	dns_answer_init(&nx, "_dmarc.example.com", DNS_TYPE_TXT, DNS_NXDOMAIN,
	                NULL);
	for (i = 0; i < sizeof(mins) / sizeof(*mins); i++) {
		memset(&res, 0, sizeof(res));
		dmarc_evaluate(
		    "mail.example.com", "example.com", &ans,
		    dmarc_needs_org("mail.example.com", "example.com", &ans)
		        ? &nx
		        : NULL,
		    mins[i], &res);
		fuzz_check_result(&res);
		/* the record found at the organizational domain */
		memset(&res, 0, sizeof(res));
		dmarc_evaluate("mail.example.com", "example.com", &nx, &ans,
		               mins[i], &res);
		fuzz_check_result(&res);
	}
	for (i = 0; i < ans.count; i++)
		free(rrs[i].data);
}

/* fuzz_judge - the answer judged with a MAIL FROM context. */
static void
fuzz_judge(const uint8_t *data, size_t size)
{
	static const struct dmarc_context ctx[] = {
	    {.mail_from = "mail.example.com", .spf_required = false},
	    {.mail_from = "mail.example.com", .spf_required = true},
	    {.mail_from = "example.com", .spf_required = true},
	    {.mail_from = "mail.example.com",
	     .from = {"example.com", "news.example.com"},
	     .nfrom = 2,
	     .dkim_required = true},
	};
	struct dns_rr rrs[FUZZ_DMARC_RRS];
	struct dmarc_record rec;
	struct check_result res;
	struct dns_answer ans;
	size_t i;

	fuzz_answer(data, size, &ans, rrs);
	for (i = 0; i < sizeof(ctx) / sizeof(*ctx); i++) {
		memset(&res, 0, sizeof(res));
		dmarc_judge("example.com", "example.com", &ans, NULL,
		            DMARC_POLICY_QUARANTINE, &ctx[i], &res, &rec);
		fuzz_check_result(&res);
		fuzz_printable(res.warning, sizeof(res.warning));
	}
	for (i = 0; i < ans.count; i++)
		free(rrs[i].data);
}

/* fuzz_walk - line i is the answer at walk name i ("!": SERVFAIL). */
static void
fuzz_walk(const uint8_t *data, size_t size)
{
	static const char domain[] = "a.b.c.d.e.f.g.h.i.example.com";
	struct fuzz_part parts[DMARC_WALK_MAX + 1];
	size_t n = fuzz_split(data, size, "\n", parts, DMARC_WALK_MAX + 1);
	size_t q = 0, ol;
	struct dmarc_walk w;
	char org[DMARC_NAME_MAX];
	const char *name;

	if (dmarc_walk_init(&w, domain) != 0)
		abort();
	while ((name = dmarc_walk_next(&w)) != NULL) {
		struct dns_answer ans;
		struct dns_rr rr;
		bool temp = q < n && parts[q].n == 1 && parts[q].p[0] == '!';

		if (++q > DMARC_WALK_MAX)
			abort();
		dns_answer_init(&ans, name, DNS_TYPE_TXT,
		                temp        ? DNS_SERVFAIL
		                : q - 1 < n ? DNS_OK
		                            : DNS_NXDOMAIN,
		                NULL);
		memset(&rr, 0, sizeof(rr));
		if (ans.outcome == DNS_OK) {
			rr.type = DNS_TYPE_TXT;
			rr.data = (unsigned char *)fuzz_strdup(parts[q - 1].p,
			                                       parts[q - 1].n);
			rr.len = parts[q - 1].n;
			ans.rrs = &rr;
			ans.count = 1;
		}
		dmarc_walk_take(&w, &ans);
		free(rr.data);
	}
	dmarc_walk_org(&w, org, sizeof(org));
	ol = strlen(org);
	if (ol == 0 || ol > sizeof(domain) - 1 ||
	    strcmp(domain + sizeof(domain) - 1 - ol, org) != 0 ||
	    (ol < sizeof(domain) - 1 && domain[sizeof(domain) - 2 - ol] != '.'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_parse(data, size);
	fuzz_evaluate(data, size);
	fuzz_judge(data, size);
	fuzz_walk(data, size);
	return 0;
}
