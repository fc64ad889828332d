/*
 * mx.c - judge the MX record set of the MAIL FROM domain.
 *
 * SYNOPSIS
 *	void mx_evaluate(const struct dns_answer *ans,
 *	    const char *expect_host, struct check_result *res);
 *
 * DESCRIPTION
 *	Bounces and feedback reports go to the MAIL FROM domain, so it needs
 *	an MX that accepts mail.  mx_evaluate() turns one MX answer into a
 *	check_result: missing for NXDOMAIN or NODATA, temperror for DNS
 *	trouble, fail for a null MX (RFC 7505: "." as the exchange, the
 *	domain accepts no mail), fail for a null MX mixed with other
 *	exchanges (RFC 7505 section 3 forbids that), fail when an expected
 *	host is given and no exchange equals it (case-insensitive, trailing
 *	dot ignored), pass otherwise.
 *
 *	res->seen lists the set by ascending preference ("10 a.example.com,
 *	20 b.example.com"), sanitized and cut to fit.  res->name is left to
 *	the caller.
 */
#include "mx.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dnsmsg.h"
#include "report.h"
#include "sanitize.h"

#define MX_ENTRY_MAX (DNS_NAME_TEXT_MAX + 8) /* "65535 " + name + NUL */
#define MX_EXAMPLE_PREF 10

/* is_mx - an MX record with an exchange. */
static bool
is_mx(const struct dns_rr *rr)
{
	return rr->type == DNS_TYPE_MX && rr->data != NULL;
}

/* is_null_mx - the exchange is the root (RFC 7505). */
static bool
is_null_mx(const struct dns_rr *rr)
{
	return rr->len == 0 || (rr->len == 1 && rr->data[0] == '.');
}

/* exchange_is - the exchange equals host, ignoring case and final dot. */
static bool
exchange_is(const struct dns_rr *rr, const char *host)
{
	/* An embedded NUL would make a prefix compare equal. */
	if (strlen((const char *)rr->data) != rr->len)
		return false;
	return dnsmsg_name_equal((const char *)rr->data, host);
}

/* mx_next - the MX after *cur in (preference, place) order; the first
 * when !started.  Quadratic, but answers hold at most DNS_ANSWER_RRS_MAX
 * records and the caller stops once res->seen is full. */
static bool
mx_next(const struct dns_answer *ans, bool started, size_t *cur)
{
	size_t i, best = 0;
	bool found = false;

	for (i = 0; i < ans->count; i++) {
		const struct dns_rr *rr = &ans->rrs[i];

		if (!is_mx(rr))
			continue;
		if (started) {
			const struct dns_rr *p = &ans->rrs[*cur];

			if (rr->preference < p->preference ||
			    (rr->preference == p->preference && i <= *cur))
				continue;
		}
		if (!found || rr->preference < ans->rrs[best].preference) {
			best = i;
			found = true;
		}
	}
	if (found)
		*cur = best;
	return found;
}

/* seen_append - sep and one sanitized entry to res->seen; false when full. */
static bool
seen_append(struct check_result *res, size_t *used, const char *sep,
            const char *entry)
{
	size_t sl = strlen(sep), el = strlen(entry), room;

	if (*used >= sizeof(res->seen) - 1)
		return false;
	room = sizeof(res->seen) - *used;
	if (sl + el < room) {
		memcpy(res->seen + *used, sep, sl);
		memcpy(res->seen + *used + sl, entry, el + 1);
		*used += sl + el;
		return true;
	}
	if (sl + 4 < room)
		snprintf(res->seen + *used, room, "%s...", sep);
	*used = sizeof(res->seen);
	return false;
}

/* mx_seen - the MX set by preference into res->seen. */
static void
mx_seen(const struct dns_answer *ans, struct check_result *res)
{
	size_t cur = 0, used = 0;
	bool started = false;

	res->seen[0] = '\0';
	while (mx_next(ans, started, &cur)) {
		const struct dns_rr *rr = &ans->rrs[cur];
		char name[DNS_NAME_TEXT_MAX], entry[MX_ENTRY_MAX];

		if (is_null_mx(rr))
			snprintf(name, sizeof(name), ".");
		else /* presentation form: its \DDD escapes stay as they are */
			sanitize_again(name, sizeof(name), rr->data, rr->len);
		snprintf(entry, sizeof(entry), "%u %s",
		         (unsigned)rr->preference, name);
		if (!seen_append(res, &used, started ? ", " : "", entry))
			break;
		started = true;
	}
}

/* mx_tally - count usable and null exchanges; find the expected host. */
static void
mx_tally(const struct dns_answer *ans, const char *host, size_t *usable,
         size_t *nulls, bool *match)
{
	size_t i;

	*usable = *nulls = 0;
	*match = false;
	for (i = 0; i < ans->count; i++) {
		const struct dns_rr *rr = &ans->rrs[i];

		if (!is_mx(rr))
			continue;
		if (is_null_mx(rr)) {
			(*nulls)++;
			continue;
		}
		(*usable)++;
		if (host[0] != '\0' && exchange_is(rr, host))
			*match = true;
	}
}

/* mx_missing - no MX at the name: say what to publish. */
static void
mx_missing(struct check_result *res, const char *qname, const char *host)
{
	if (host[0] != '\0')
		check_result_set(
		    res, CHECK_MISSING,
		    "Publish an MX record for %s (e.g. %s MX %d %s).", qname,
		    qname, MX_EXAMPLE_PREF, host);
	else
		check_result_set(
		    res, CHECK_MISSING,
		    "Publish an MX record for %s that points to a host which "
		    "accepts its bounces.",
		    qname);
}

/* mx_temp - DNS trouble: temperror, the last known state holds. */
static void
mx_temp(struct check_result *res, const struct dns_answer *ans,
        const char *qname)
{
	char e[sizeof(ans->error) * 4];

	sanitize_text(e, sizeof(e), (const unsigned char *)ans->error,
	              strnlen(ans->error, sizeof(ans->error)));
	check_result_set(
	    res, CHECK_TEMPERROR,
	    "DNS lookup of MX %s failed (%s%s%s); the check will be retried",
	    qname, dns_outcome_name(ans->outcome), e[0] ? ": " : "", e);
}

/* mx_judge - the verdict on a non-empty MX set; host is want, shown. */
static void
mx_judge(const struct dns_answer *ans, const char *qname, const char *want,
         const char *host, struct check_result *res)
{
	size_t usable, nulls;
	bool match;

	mx_tally(ans, want, &usable, &nulls, &match);
	if (usable == 0 && host[0] != '\0')
		check_result_set(
		    res, CHECK_FAIL,
		    "null MX: the domain accepts no mail (RFC 7505), so "
		    "bounces and reports to %s are lost; replace it with "
		    "%s MX %d %s",
		    qname, qname, MX_EXAMPLE_PREF, host);
	else if (usable == 0)
		check_result_set(
		    res, CHECK_FAIL,
		    "null MX: the domain accepts no mail (RFC 7505), so "
		    "bounces and reports to %s are lost; publish a real MX",
		    qname);
	else if (nulls > 0)
		check_result_set(
		    res, CHECK_FAIL,
		    "the MX set of %s mixes a null MX with other exchanges, "
		    "which RFC 7505 forbids; remove the null MX",
		    qname);
	else if (host[0] != '\0' && !match)
		check_result_set(res, CHECK_FAIL,
		                 "no MX of %s points to %s; found %s", qname,
		                 host, res->seen);
	else if (host[0] != '\0')
		check_result_set(res, CHECK_PASS, "MX of %s points to %s",
		                 qname, host);
	else
		check_result_set(res, CHECK_PASS, "MX of %s: %s", qname,
		                 res->seen);
}

void
mx_evaluate(const struct dns_answer *ans, const char *expect_host,
            struct check_result *res)
{
	char qname[DNS_NAME_TEXT_MAX], host[DNS_NAME_TEXT_MAX] = "";
	size_t usable, nulls;
	bool match;

	res->type = CHECK_MX;
	res->seen[0] = '\0';
	res->detail[0] = '\0';
	if (expect_host != NULL)
		sanitize_text(host, sizeof(host),
		              (const unsigned char *)expect_host,
		              strlen(expect_host));
	if (host[0] != '\0')
		snprintf(res->expected, sizeof(res->expected),
		         "MX pointing to %s", host);
	else
		snprintf(res->expected, sizeof(res->expected), "an MX record");
	if (ans == NULL) {
		check_result_set(
		    res, CHECK_TEMPERROR,
		    "no answer to the MX lookup; the check will be retried");
		return;
	}
	sanitize_text(qname, sizeof(qname), (const unsigned char *)ans->qname,
	              strnlen(ans->qname, sizeof(ans->qname)));
	if (dns_outcome_is_temporary(ans->outcome) ||
	    (ans->outcome != DNS_OK && ans->outcome != DNS_NXDOMAIN &&
	     ans->outcome != DNS_NODATA)) {
		mx_temp(res, ans, qname);
		return;
	}
	mx_tally(ans, "", &usable, &nulls, &match);
	if (ans->outcome != DNS_OK || usable + nulls == 0) {
		mx_missing(res, qname, host);
		return;
	}
	mx_seen(ans, res);
	mx_judge(ans, qname, expect_host != NULL ? expect_host : "", host, res);
}
