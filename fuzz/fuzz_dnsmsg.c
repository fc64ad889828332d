/*
 * NAME
 *	fuzz_dnsmsg - libFuzzer target for DNS answer parsing and its users
 * SYNOPSIS
 *	make -f fuzz/Makefile.fuzz top_srcdir=. builddir=BUILD all
 *	BUILD/fuzz/fuzz_dnsmsg -max_len=65536 CORPUS
 * DESCRIPTION
 *	The first input byte picks the question: its low three bits the
 *	type (TXT, MX, A, AAAA, PTR, CNAME, then TXT again), its high four
 *	bits the CNAME hops already followed (0..15, past the bound).  The
 *	rest is a DNS response as received over UDP or TCP (without the
 *	TCP length prefix), handed to dnsmsg_parse() for the name
 *	"a.example" in a heap block of exactly its size.
 *
 *	The answer then goes to the code that reads it in production: a
 *	TXT answer to dkim_evaluate(), dmarc_select() and dmarc_evaluate()
 *	(as the answer at the domain and at the organizational domain), an
 *	MX answer to mx_evaluate() with and without an expected host.
 *
 *	Aborts when a result breaks the contract of dnsmsg.h: a return
 *	value other than 0 or -1, -1 with an outcome other than FORMERR or
 *	ERROR, records with an outcome other than OK or OK without records,
 *	more than DNS_ANSWER_RRS_MAX records, a record of another type, a
 *	value that is not NUL-terminated at its length, an address of the
 *	wrong size, a name that is not printable or longer than
 *	DNS_NAME_TEXT_MAX, a TXT value longer than the message, fewer hops
 *	than were given; or when a consumer's check_result has unprintable
 *	or unterminated text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "dmarc.h"
#include "dnsmsg.h"
#include "fuzz_util.h"
#include "mx.h"
#include "report.h"

#define FUZZ_QNAME "a.example"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t fuzz_qtypes[8] = {
    DNS_TYPE_TXT, DNS_TYPE_MX,    DNS_TYPE_A,   DNS_TYPE_AAAA,
    DNS_TYPE_PTR, DNS_TYPE_CNAME, DNS_TYPE_TXT, DNS_TYPE_TXT,
};

/* check_rr - one record of the answer against its type. */
static void
check_rr(const struct dns_rr *rr, uint16_t qtype, size_t msglen)
{
	if (rr->type != qtype || rr->data == NULL || rr->data[rr->len] != '\0')
		abort();
	switch (qtype) {
	case DNS_TYPE_A:
		if (rr->len != 4)
			abort();
		break;
	case DNS_TYPE_AAAA:
		if (rr->len != 16)
			abort();
		break;
	case DNS_TYPE_TXT:
		if (rr->len >= msglen)
			abort();
		break;
	default: /* MX, PTR, CNAME: a name in presentation form */
		if (rr->len == 0 || rr->len >= DNS_NAME_TEXT_MAX ||
		    strlen((const char *)rr->data) != rr->len)
			abort();
		fuzz_printable((const char *)rr->data, rr->len + 1);
		break;
	}
}

/* check_answer - the promises of dnsmsg.h. */
static void
check_answer(const struct dns_answer *ans, int rc, uint16_t qtype,
             unsigned hops, size_t msglen)
{
	size_t i;

	if ((rc != 0 && rc != -1) || (unsigned)ans->outcome > DNS_ERROR ||
	    ans->qtype != qtype || ans->count > DNS_ANSWER_RRS_MAX)
		abort();
	if (rc == -1 && ans->outcome != DNS_FORMERR &&
	    ans->outcome != DNS_ERROR)
		abort();
	if ((ans->count > 0) != (ans->outcome == DNS_OK))
		abort();
	if (ans->count > 0 && ans->rrs == NULL)
		abort();
	if (rc == 0 && ans->outcome != DNS_FORMERR && ans->cname_hops < hops)
		abort();
	fuzz_printable(ans->qname, sizeof(ans->qname));
	fuzz_printable(ans->final_name, sizeof(ans->final_name));
	if (memchr(ans->error, '\0', sizeof(ans->error)) == NULL)
		abort();
	if (ans->outcome == DNS_CNAME_PENDING && ans->final_name[0] == '\0')
		abort();
	for (i = 0; i < ans->count; i++)
		check_rr(&ans->rrs[i], qtype, msglen);
}

/* fuzz_txt_users - DKIM and DMARC on a TXT answer. */
static void
fuzz_txt_users(const struct dns_answer *ans)
{
	const struct dkim_expect exp = {.domain = "example.com",
	                                .selector = "sel",
	                                .key_path = "/nonexistent/sel.key"};
	struct check_result res;
	enum dmarc_selection sel;
	size_t idx = (size_t)-1;

	memset(&res, 0, sizeof(res));
	dkim_evaluate(ans, &exp, &res);
	fuzz_check_result(&res);
	sel = dmarc_select(ans, &idx);
	if ((sel == DMARC_SELECT_ONE || sel == DMARC_SELECT_MANY) &&
	    idx >= ans->count)
		abort();
	memset(&res, 0, sizeof(res));
	dmarc_evaluate("mail.example.com", "example.com", ans,
	               dmarc_needs_org("mail.example.com", "example.com", ans)
	                   ? ans
	                   : NULL,
	               DMARC_POLICY_NONE, &res);
	fuzz_check_result(&res);
}

/* fuzz_mx_users - mx_evaluate() with and without an expected host. */
static void
fuzz_mx_users(const struct dns_answer *ans)
{
	struct check_result res;

	memset(&res, 0, sizeof(res));
	mx_evaluate(ans, NULL, &res);
	fuzz_check_result(&res);
	memset(&res, 0, sizeof(res));
	mx_evaluate(ans, "mx.example.com", &res);
	fuzz_check_result(&res);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_answer ans;
	unsigned char *msg;
	unsigned hops;
	uint16_t qtype;
	int rc;

	if (size == 0)
		return 0;
	qtype = fuzz_qtypes[data[0] & 7];
	hops = data[0] >> 4;
	msg = fuzz_dup(data + 1, size - 1);
	rc = dnsmsg_parse(msg, size - 1, FUZZ_QNAME, qtype, hops, &ans);
	check_answer(&ans, rc, qtype, hops, size - 1);
	if (qtype == DNS_TYPE_TXT)
		fuzz_txt_users(&ans);
	else if (qtype == DNS_TYPE_MX)
		fuzz_mx_users(&ans);
	dns_answer_free(&ans);
	if (ans.count != 0 || ans.rrs != NULL)
		abort();
	free(msg);
	return 0;
}
