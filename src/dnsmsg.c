/*
 * dnsmsg.c - DNS wire-format answer parsing; see dnsmsg.h.
 */
#include "dnsmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const dns_outcome_names[] = {
	[DNS_OK] = "ok",
	[DNS_NXDOMAIN] = "nxdomain",
	[DNS_NODATA] = "nodata",
	[DNS_SERVFAIL] = "servfail",
	[DNS_REFUSED] = "refused",
	[DNS_TIMEOUT] = "timeout",
	[DNS_FORMERR] = "formerr",
	[DNS_CNAME_PENDING] = "cname-pending",
	[DNS_CNAME_LOOP] = "cname-loop",
	[DNS_ERROR] = "error",
};

const char *
dns_outcome_name(enum dns_outcome outcome)
{
	if ((size_t)outcome >=
	    sizeof(dns_outcome_names) / sizeof(*dns_outcome_names))
		return "unknown";
	return dns_outcome_names[outcome];
}

bool
dns_outcome_is_temporary(enum dns_outcome outcome)
{
	switch (outcome) {
	case DNS_SERVFAIL:
	case DNS_REFUSED:
	case DNS_TIMEOUT:
	case DNS_FORMERR:
	case DNS_CNAME_PENDING:
	case DNS_CNAME_LOOP:
	case DNS_ERROR:
		return true;
	case DNS_OK:
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		break;
	}
	return false;
}

void
dns_answer_init(struct dns_answer *ans, const char *qname, uint16_t qtype,
    enum dns_outcome outcome, const char *error)
{
	memset(ans, 0, sizeof(*ans));
	ans->outcome = outcome;
	ans->qtype = qtype;
	snprintf(ans->qname, sizeof(ans->qname), "%s", qname ? qname : "");
	snprintf(ans->final_name, sizeof(ans->final_name), "%s", ans->qname);
	snprintf(ans->error, sizeof(ans->error), "%s", error ? error : "");
}

void
dns_answer_free(struct dns_answer *ans)
{
	size_t i;

	for (i = 0; i < ans->count; i++)
		free(ans->rrs[i].data);
	free(ans->rrs);
	ans->rrs = NULL;
	ans->count = 0;
}

bool
dnsmsg_name_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}
