/*
 * dmarc.h - DMARC records: parsing, validation and policy discovery
 * as RFC 9989 has them (the DNS tree walk, psd, np and t).
 *
 * SYNOPSIS
 *	#include "dmarc.h"
 *
 *	The functions: see dmarc.c.
 *
 * DESCRIPTION
 *	dmarc_parse() validates one record: v=DMARC1 first, then every known tag
 *	(p, sp, np, adkim, aspf, fo, rua, ruf, psd, t, and the removed pct,
 *	rf and ri); unknown tags are ignored as the RFC requires.  What
 *	receivers still apply is read as they read it, with a warning.
 *	dmarc_walk_*() is the DNS tree walk of RFC 9989 (at most
 *	DMARC_WALK_MAX queries): the policy record and the organizational
 *	domain, without a public suffix list.  dmarc_select() applies the
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

#define DMARC_WARN_MAX 480 /* leniency sentences of one record */
#define DMARC_WALK_MAX 8   /* RFC 9989: queries of one tree walk */
#define DMARC_NAME_MAX 254 /* a domain name in text form, NUL */

struct dmarc_record {
	enum dmarc_policy p, sp, np;
	char adkim, aspf; /* 'r' or 's' */
	unsigned pct;     /* 0..100; removed by RFC 9989, read for pct=0 */
	unsigned long ri; /* seconds; removed by RFC 9989 */
	char fo[16];
	bool has_rua, has_ruf;     /* at least one usable URI */
	char psd;                  /* 'y', 'n', 'u' */
	char t;                    /* 'y', 'n' */
	char warn[DMARC_WARN_MAX]; /* what was read leniently, and the fix */
	unsigned nwarn;
};

/* dmarc_test_mode - receivers do not apply p as stated (t=y, pct=0). */
bool dmarc_test_mode(const struct dmarc_record *r);

/* dmarc_enforced - the policy receivers apply: one step lower in test
 * mode (reject -> quarantine -> none), as RFC 9989 says for t=y. */
enum dmarc_policy dmarc_enforced(const struct dmarc_record *r,
                                 enum dmarc_policy stated);

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

/* What the judgement of a DMARC record also needs to know. */
#define DMARC_FROM_MAX 8 /* From domains a judgement is told of */

struct dmarc_context {
	const char *mail_from; /* the MAIL FROM domain, or NULL */
	bool spf_required;     /* alignment must hold through SPF */
	/* The From domains the operator will use (none: not known). */
	const char *from[DMARC_FROM_MAX];
	size_t nfrom;
	bool dkim_required; /* alignment must hold through DKIM */
};

/*
 * dmarc_judge - dmarc_evaluate() with a context: found is the name where
 * discovery found a record (the domain itself, an intermediate name or
 * the organizational domain), at_found its answer.  The record's
 * leniencies and what alignment it allows go to res->warning; aspf=s
 * with a MAIL FROM other than the domain fails when ctx->spf_required,
 * adkim=s with a From domain (ctx->from) other than the domain, the
 * key's d=, fails when ctx->dkim_required.
 * *rec gets the parsed record when one applies (rec may be NULL).
 */
void dmarc_judge(const char *domain, const char *found,
                 const struct dns_answer *at_domain,
                 const struct dns_answer *at_found,
                 enum dmarc_policy min_policy, const struct dmarc_context *ctx,
                 struct check_result *res, struct dmarc_record *rec);

/* The DNS tree walk of one domain (RFC 9989), fed one answer at a time. */
struct dmarc_walk {
	char names[DMARC_WALK_MAX][DMARC_NAME_MAX]; /* longest first */
	size_t n;                                   /* names in the walk */
	size_t asked;                               /* answers taken */
	int policy;   /* index of the first name with a DMARC record, or -1 */
	int org_psd;  /* index of the name a psd=y/n record ends at, or -1 */
	int shortest; /* index of the shortest name with a valid record */
	char psd[DMARC_WALK_MAX]; /* per name: 0 no valid record, y, n, u */
	bool temp;                /* DNS trouble cut the walk short */
};

/* dmarc_walk_names - the names of the walk for domain, longest first. */
size_t dmarc_walk_names(const char *domain, char names[][DMARC_NAME_MAX],
                        size_t max);

/* dmarc_walk_init - a walk for a normalized domain; -1 when too long. */
int dmarc_walk_init(struct dmarc_walk *w, const char *domain);

/* dmarc_walk_next - the name to query next, or NULL when done. */
const char *dmarc_walk_next(const struct dmarc_walk *w);

/* dmarc_walk_take - the answer for dmarc_walk_next(); false when done. */
bool dmarc_walk_take(struct dmarc_walk *w, const struct dns_answer *ans);

/* dmarc_walk_org - the organizational domain (RFC 9989) into out. */
void dmarc_walk_org(const struct dmarc_walk *w, char *out, size_t outlen);

#endif
