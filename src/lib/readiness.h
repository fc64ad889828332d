/*
 * readiness.h - run the checks for one domain and produce its report.
 *
 * SYNOPSIS
 *	#include "readiness.h"
 *
 *	The functions: see readiness.c.
 *
 * DESCRIPTION
 *	A readiness job issues the DNS lookups a domain's setup needs through a
 *	resolver (c-ares in the programs, canned answers in the tests), hands
 *	each answer to the evaluator of its record type (dkim.c, dmarc.c, mx.c)
 *	and calls back once every result is in.  The job never blocks; it makes
 *	progress only from resolver callbacks.  SPF plugs in as one more check
 *	type with its own evaluator.
 */
#ifndef AUTHREADY_READINESS_H
#define AUTHREADY_READINESS_H

#include <limits.h>
#include <stddef.h>

#include "dmarc.h"
#include "domainname.h"
#include "report.h"
#include "resolver.h"
#include "spf.h"

#define READINESS_SELECTORS_MAX 8
#define READINESS_SELECTOR_MAX 64
#define READINESS_KEY_MAX (64 * 1024)
#define READINESS_KEY_PATH_MAX 256        /* as in the registry (domain.h) */
#define READINESS_FROM_MAX DMARC_FROM_MAX /* --from-domain options */

#define READINESS_CHECK_BIT(t) (1u << (t))
#define READINESS_CHECK_ALL                                                    \
	(READINESS_CHECK_BIT(CHECK_SPF) | READINESS_CHECK_BIT(CHECK_DKIM) |    \
	 READINESS_CHECK_BIT(CHECK_DMARC) | READINESS_CHECK_BIT(CHECK_MX))

struct readiness_selector {
	char name[READINESS_SELECTOR_MAX];
	char key_path[READINESS_KEY_PATH_MAX]; /* "" when no key to match */
	char *key_pem; /* contents of key_path, or NULL */
	size_t key_pem_len;
};

struct readiness_request {
	char domain[DOMAIN_BUF];    /* normalized */
	char mail_from[DOMAIN_BUF]; /* full MAIL FROM domain, normalized */
	unsigned checks;            /* READINESS_CHECK_BIT() mask */
	struct readiness_selector selectors[READINESS_SELECTORS_MAX];
	size_t nselectors;
	char mx_host[DOMAIN_BUF]; /* "" when any MX will do */
	enum dmarc_policy dmarc_min_policy;
	struct spf_range egress[SPF_EGRESS_MAX]; /* SPF must pass for all */
	size_t negress;
	char spf_include[DOMAIN_BUF]; /* "" or a domain SPF must include */
	unsigned budget_ms; /* the whole check (CheckTimeout); 0: no limit */
	bool spf_alignment_required; /* aspf=s that cannot align fails */
	/* The From domains the operator will use (check --from-domain);
	 * none: not known, adkim=s only warns. */
	char from_domains[READINESS_FROM_MAX][DOMAIN_BUF];
	size_t nfrom;
	bool dkim_alignment_required; /* adkim=s that cannot align fails */
};

typedef void (*readiness_done_cb)(void *arg, struct report *rep);

/*
 * readiness_start - begin the checks.  Returns 0 when lookups are under
 * way: done runs once, from a resolver callback, when rep is complete.
 * Returns 1 when rep was complete at once (no lookup was needed or none
 * could be queued): done is not called.  The request's key buffers must
 * outlive the job.  With req->budget_ms, every lookup of the job ends by
 * then (through the resolver's query_by); a record whose lookups the
 * budget cut short is temperror, with a sentence that says so.
 */
int readiness_start(const struct resolver *res,
                    const struct readiness_request *req, struct report *rep,
                    readiness_done_cb done, void *arg);

/*
 * readiness_mail_from - the MAIL FROM domain for domain from what the
 * operator typed: a single label is relative to domain ("mail" ->
 * mail.example.com); a name with a dot is complete.  0 ok; -1 with err
 * when the name is malformed.  Whether it is acceptable (a subdomain, not
 * the bare domain) is judged by the checks themselves.
 */
int readiness_mail_from(const char *domain, const char *text, char *out,
                        size_t outlen, char *err, size_t errlen);

/*
 * readiness_load_key - read a PEM key file (at most READINESS_KEY_MAX
 * bytes) into sel, through safefile_read(): it never blocks.  A file
 * that is not regular, is empty, or that others can write, is refused.
 * 0 ok; -1 with a sentence naming the file in err.
 */
int readiness_load_key(struct readiness_selector *sel, const char *path,
                       char *err, size_t errlen);

/*
 * readiness_add_egress - add an egress address ("192.0.2.1"), or a range
 * ("192.0.2.0/24"; "192.0.2.7/24" is the same range): SPF must then pass
 * for every address of it (spf_validate() says how that is checked).
 * 0 ok, -1 when it is not an address or the list is full.
 */
int readiness_add_egress(struct readiness_request *req, const char *text);

/* readiness_request_free - the key buffers of a request. */
void readiness_request_free(struct readiness_request *req);

#endif
