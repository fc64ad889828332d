/*
 * fallback.c - OnMailFromNotReady: a fallback MAIL FROM for a domain
 *	whose only failing records are its MAIL FROM's; see fallback.h.
 *
 * SYNOPSIS
 *	void fallback_config_defaults(struct fallback_config *fc);
 *	bool fallback_records_ok(unsigned pass, unsigned problem);
 *	bool fallback_decide(fc, in, d);
 *	const char *fallback_mode_name(enum fallback_mode m);
 *	int fallback_parse_mode(buf, len, m, err, errlen);
 *	int fallback_parse_address(buf, len, out, outlen, err, errlen);
 *	int fallback_config_check(fc, err, errlen);
 *
 * DESCRIPTION
 *	The rules are listed in fallback.h.  The record types are masks of
 *	enum check_type bits, as the store's state summary gives them
 *	(storecodec_state_peek()) and sender.c hands them to the policy
 *	input, so the decision reads no record text.
 *
 * DIAGNOSTICS
 *	The parsers and the check return -1 with one sentence in err; the
 *	bad value is quoted through text_quote().
 */
#include "fallback.h"

#include <stdio.h>
#include <string.h>

#include "domainname.h"
#include "errbuf.h"
#include "report.h"
#include "sanitize.h"
#include "text.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define FALLBACK_BIT(t) (1u << (unsigned)(t))
#define FALLBACK_LOCAL_MAX 64 /* RFC 5321 4.5.3.1.1 */

/* The MAIL FROM's records may fail; these must be there and pass. */
static const unsigned fallback_may_fail =
    FALLBACK_BIT(CHECK_SPF) | FALLBACK_BIT(CHECK_MX);
static const unsigned fallback_must_pass =
    FALLBACK_BIT(CHECK_DKIM) | FALLBACK_BIT(CHECK_DMARC);

static const char *const fallback_mode_names[] = {
    [FALLBACK_REJECT] = "reject",
    [FALLBACK_ON] = "fallback",
};

void
fallback_config_defaults(struct fallback_config *fc)
{
	memset(fc, 0, sizeof(*fc));
	fc->mode = FALLBACK_REJECT;
}

const char *
fallback_mode_name(enum fallback_mode m)
{
	if ((size_t)m >= NELEM(fallback_mode_names))
		return "invalid";
	return fallback_mode_names[m];
}

bool
fallback_records_ok(unsigned pass, unsigned problem)
{
	return problem != 0 && (problem & ~fallback_may_fail) == 0 &&
	       (pass & fallback_must_pass) == fallback_must_pass;
}

/* fallback_describe - the reason of a decision that fell back. */
static void
fallback_describe(const struct policy_input *in, struct policy_decision *d,
                  const char *was)
{
	char prob[POLICY_REASON_MAX / 2];
	size_t n = 0;

	prob[0] = '\0';
	if (in->first_problem != NULL)
		sanitize_text(prob, sizeof(prob),
		              (const unsigned char *)in->first_problem,
		              strlen(in->first_problem));
	d->reason[0] = '\0';
	text_append(d->reason, sizeof(d->reason), &n,
	            policy_situation_name(d->situation));
	text_append(d->reason, sizeof(d->reason), &n, ": ");
	text_append(d->reason, sizeof(d->reason), &n,
	            policy_action_name(d->action));
	text_append(d->reason, sizeof(d->reason), &n, " by ");
	text_append(d->reason, sizeof(d->reason), &n, d->source);
	if (d->action == POLICY_MONITOR)
		text_append(d->reason, sizeof(d->reason), &n, ", would accept");
	text_append(d->reason, sizeof(d->reason), &n,
	            " with the fallback MAIL FROM (only MAIL FROM records "
	            "fail; DKIM and DMARC pass), not reject by ");
	text_append(d->reason, sizeof(d->reason), &n, was);
	if (prob[0] != '\0') {
		text_append(d->reason, sizeof(d->reason), &n, "; ");
		text_append(d->reason, sizeof(d->reason), &n, prob);
	}
}

bool
fallback_decide(const struct fallback_config *fc, const struct policy_input *in,
                struct policy_decision *d)
{
	const char *was = d->source != NULL ? d->source : "policy";

	if (fc->mode != FALLBACK_ON || fc->address[0] == '\0')
		return false;
	if (!d->judged || !in->have_state || d->softened ||
	    d->would_be != POLICY_REJECT ||
	    (d->situation != POLICY_ON_PENDING &&
	     d->situation != POLICY_ON_FAILED))
		return false;
	if (!fallback_records_ok(in->pass_types, in->problem_types))
		return false;
	d->would_be = POLICY_ACCEPT;
	if (d->action == POLICY_REJECT)
		d->action = POLICY_ACCEPT;
	d->source = "OnMailFromNotReady";
	d->fallback = true;
	d->log_warning = true;
	d->smtp_code[0] = '\0';
	d->xcode[0] = '\0';
	d->text[0] = '\0';
	fallback_describe(in, d, was);
	return true;
}

int
fallback_parse_mode(const char *buf, size_t len, enum fallback_mode *m,
                    char *err, size_t errlen)
{
	char q[64];

	for (size_t i = 0; i < NELEM(fallback_mode_names); i++)
		if (text_ieq(buf, len, fallback_mode_names[i])) {
			*m = (enum fallback_mode)i;
			return 0;
		}
	return errbuf_fail(err, errlen, "'%s' is not reject or fallback",
	                   text_quote(q, sizeof(q), buf, len));
}

int
fallback_parse_address(const char *buf, size_t len, char *out, size_t outlen,
                       char *err, size_t errlen)
{
	char q[80], addr[ADDRESS_PLAIN_MAX + 1], dom[DOMAIN_BUF], why[256];
	const char *at;
	size_t local, n;

	text_quote(q, sizeof(q), buf, len);
	if (len > ADDRESS_PLAIN_MAX || memchr(buf, '\0', len) != NULL)
		return errbuf_fail(err, errlen,
		                   "'%s' is not a plain address like "
		                   "bounces@mail.operator.example",
		                   q);
	memcpy(addr, buf, len);
	addr[len] = '\0';
	if (!address_plain_ok(addr))
		return errbuf_fail(err, errlen,
		                   "'%s' is not a plain address like "
		                   "bounces@mail.operator.example",
		                   q);
	at = strchr(addr, '@');
	local = (size_t)(at - addr);
	if (local > FALLBACK_LOCAL_MAX)
		return errbuf_fail(
		    err, errlen,
		    "'%s': the local part is %zu octets, at most "
		    "%d allowed",
		    q, local, FALLBACK_LOCAL_MAX);
	if (domain_normalize(at + 1, strlen(at + 1), dom, sizeof(dom), why,
	                     sizeof(why)) != 0)
		return errbuf_fail(err, errlen, "'%s': %s", q, why);
	n = local + 1 + strlen(dom);
	if (n >= outlen)
		return errbuf_fail(err, errlen,
		                   "'%s' is %zu octets; at most %zu allowed", q,
		                   n, outlen - 1);
	snprintf(out, outlen, "%.*s@%s", (int)local, addr, dom);
	return 0;
}

int
fallback_config_check(const struct fallback_config *fc, char *err,
                      size_t errlen)
{
	if (fc->mode == FALLBACK_ON && fc->address[0] == '\0')
		return errbuf_fail(
		    err, errlen,
		    "OnMailFromNotReady fallback needs FallbackMailFrom: the "
		    "address (in a domain you registered and verified) that "
		    "replaces the envelope sender");
	return 0;
}
