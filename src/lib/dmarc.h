/*
 * dmarc.h - DMARC records: parsing, validation and policy discovery
 * (RFC 7489 sections 6.3 and 6.6.3; np, psd and t from RFC 9989).
 *
 * SYNOPSIS
 *	#include "dmarc.h"
 *
 *	The functions: see dmarc.c.
 *
 * DESCRIPTION
 *	dmarc_parse() validates one record: v=DMARC1 first, then every known tag
 *	(p, sp, np, adkim, aspf, pct, fo, rf, ri, rua, ruf, psd, t); unknown
 *	tags are ignored as the RFC requires.  dmarc_select() applies the
 *	record-selection rule to one DNS answer.  dmarc_evaluate() combines the
 *	answers at _dmarc.DOMAIN and, when needed, at _dmarc.ORGDOMAIN into a
 *	check_result, judging the effective policy against a minimum.
 */
#ifndef AUTHREADY_DMARC_H
#define AUTHREADY_DMARC_H

#include <stdbool.h>
#include <stddef.h>

struct dns_answer;
struct check_result;

enum dmarc_policy {
	DMARC_POLICY_UNSET = -1,
	DMARC_POLICY_NONE = 0,
	DMARC_POLICY_QUARANTINE = 1,
	DMARC_POLICY_REJECT = 2,
};

struct dmarc_record {
	enum dmarc_policy p, sp, np;
	char adkim, aspf; /* 'r' or 's' */
	unsigned pct;     /* 0..100 */
	unsigned long ri; /* seconds */
	char fo[16];
	bool has_rua, has_ruf;
	char psd; /* 'y', 'n', 'u' */
	char t;   /* 'y', 'n' */
};

/* dmarc_parse - 0 ok; -1 with a sentence naming the bad tag in err. */
int dmarc_parse(const unsigned char *rec, size_t len, struct dmarc_record *out,
                char *err, size_t errlen);

enum dmarc_selection {
	DMARC_SELECT_ONE,  /* exactly one v=DMARC1 record */
	DMARC_SELECT_NONE, /* none (NXDOMAIN, NODATA, other TXT only) */
	DMARC_SELECT_MANY, /* more than one: no policy, RFC 7489 6.6.3 */
	DMARC_SELECT_TEMP, /* DNS trouble */
};

/* dmarc_select - pick the record; *index is its place in ans->rrs. */
enum dmarc_selection dmarc_select(const struct dns_answer *ans, size_t *index);

int dmarc_policy_parse(const char *text, enum dmarc_policy *out);
const char *dmarc_policy_name(enum dmarc_policy p);

/*
 * dmarc_evaluate - domain is the author domain checked; org its
 * organizational domain; at_domain the answer at _dmarc.DOMAIN; at_org the
 * answer at _dmarc.ORG or NULL when not asked (org equals domain, or the
 * domain had a record).  Fills res, including res->name.
 */
void dmarc_evaluate(const char *domain, const char *org,
                    const struct dns_answer *at_domain,
                    const struct dns_answer *at_org,
                    enum dmarc_policy min_policy, struct check_result *res);

/* dmarc_needs_org - true when discovery must go on to the org domain. */
bool dmarc_needs_org(const char *domain, const char *org,
                     const struct dns_answer *at_domain);

#endif
