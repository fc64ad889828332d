/*
 * readiness.c - run the checks for one domain and produce its report.
 *
 * SYNOPSIS
 *	int readiness_start(res, req, rep, done, arg);
 *	int readiness_mail_from(domain, text, out, outlen, err, errlen);
 *
 * DESCRIPTION
 *	A job reserves one report slot per check, in the order of the
 *	seed's table (MX, SPF, DKIM per selector, DMARC), issues every
 *	first lookup at once, and fills each slot from the evaluator of its
 *	record type when the answer arrives.  DMARC discovery is the DNS
 *	tree walk of RFC 9989 (dmarc_walk_*(), at most eight lookups, one
 *	at a time): the first record on the way up is the policy judged,
 *	and the walk goes on to the organizational domain, which the report
 *	carries (rep->org) so the state can keep it.  When the last slot is
 *	filled the caller's done runs and the job is freed.
 *
 *	A request with a budget gets a resolver of its own in front of the
 *	caller's: every lookup of the job, SPF's included, is asked with
 *	the job's deadline (query_by), so the job ends by then whatever the
 *	DNS servers do.  A record still unanswered at the deadline is
 *	temperror, never worse: DNS trouble lowers no state.
 *
 *	The MAIL FROM rule of the seed is applied before any lookup: a MAIL
 *	FROM equal to the domain itself, or outside its organizational
 *	domain (so SPF could never align), fails the MX check at once.
 *
 *	DKIM is never skipped: a request for it without a selector gets a
 *	missing DKIM result that says how to name one, so no domain is
 *	ready (or verified) without a valid key.
 *
 * DIAGNOSTICS
 *	A lookup the resolver refuses to queue becomes a temperror result.
 */
#include "readiness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dkim.h"
#include "dmarc.h"
#include "dnsmsg.h"
#include "mx.h"
#include "safefile.h"
#include "text.h"

struct readiness_job {
	struct resolver res;  /* what the checks ask: base, or the budget */
	struct resolver base; /* the caller's */
	uint64_t deadline;    /* CLOCK_MONOTONIC ms; UINT64_MAX: none */
	bool late[REPORT_CHECKS_MAX]; /* slot finished after the deadline */
	struct readiness_request req;
	struct report *rep;
	readiness_done_cb done;
	void *arg;
	size_t outstanding; /* lookups whose callback has not run */
	char org[DOMAIN_BUF];
	struct dmarc_walk walk;        /* DMARC discovery */
	bool dmarc_judged;             /* dmarc_res holds the judgement */
	struct check_result dmarc_res; /* of the policy record found */
	size_t keys_rsa, keys_ed25519; /* DKIM key types published */
};

/* One lookup in flight: which slot it fills and how. */
struct readiness_lookup {
	struct readiness_job *job;
	size_t slot;
	enum check_type type;
	size_t selector;  /* DKIM: index into req.selectors */
	int dmarc_at_org; /* DMARC: second step of discovery */
};

static void readiness_answer(void *arg, const struct dns_answer *ans);
static void readiness_finish_one(struct readiness_job *job);

/* readiness_budget_query_by - a lookup ended by the job's deadline too. */
static int
readiness_budget_query_by(void *impl, const char *name, uint16_t qtype,
                          uint64_t deadline_ms, resolver_cb cb, void *arg)
{
	struct readiness_job *job = impl;

	if (job->deadline < deadline_ms)
		deadline_ms = job->deadline;
	if (job->base.query_by == NULL)
		return job->base.query(job->base.impl, name, qtype, cb, arg);
	return job->base.query_by(job->base.impl, name, qtype, deadline_ms, cb,
	                          arg);
}

/* readiness_budget_query - a lookup ended by the job's deadline. */
static int
readiness_budget_query(void *impl, const char *name, uint16_t qtype,
                       resolver_cb cb, void *arg)
{
	return readiness_budget_query_by(impl, name, qtype, UINT64_MAX, cb,
	                                 arg);
}

/* readiness_note_late - slot is done; remember when that was too late. */
static void
readiness_note_late(struct readiness_job *job, size_t slot)
{
	if (job->deadline != UINT64_MAX && slot < REPORT_CHECKS_MAX &&
	    text_now_ms() >= job->deadline)
		job->late[slot] = true;
}

/* readiness_budget_explain - temperror records the budget cut short. */
static void
readiness_budget_explain(struct readiness_job *job)
{
	unsigned ms = job->req.budget_ms;
	char secs[32];
	size_t i;

	if (ms % 1000 == 0)
		snprintf(secs, sizeof(secs), "%u", ms / 1000);
	else
		snprintf(secs, sizeof(secs), "%u.%03u", ms / 1000, ms % 1000);
	for (i = 0; i < job->rep->nchecks && i < REPORT_CHECKS_MAX; i++) {
		struct check_result *res = &job->rep->checks[i];

		if (!job->late[i] || res->status != CHECK_TEMPERROR)
			continue;
		check_result_set(
		    res, CHECK_TEMPERROR,
		    "The DNS lookups for %s did not finish within the "
		    "check's time budget of %s s (CheckTimeout); try again.",
		    res->name, secs);
	}
}

/* readiness_slot - reserve the next result slot of the report. */
static struct check_result *
readiness_slot(struct report *rep, enum check_type type, const char *name,
               size_t *slot)
{
	struct check_result *res;

	if (rep->nchecks >= REPORT_CHECKS_MAX)
		return NULL;
	*slot = rep->nchecks;
	res = &rep->checks[rep->nchecks++];
	memset(res, 0, sizeof(*res));
	res->type = type;
	snprintf(res->name, sizeof(res->name), "%s", name);
	return res;
}

/* readiness_query - send one lookup; on refusal, fill the slot instead. */
static void
readiness_query(struct readiness_job *job, size_t slot, enum check_type type,
                size_t selector, int at_org, uint16_t qtype)
{
	struct readiness_lookup *lk;
	struct check_result *res = &job->rep->checks[slot];

	lk = calloc(1, sizeof(*lk));
	if (lk != NULL) {
		lk->job = job;
		lk->slot = slot;
		lk->type = type;
		lk->selector = selector;
		lk->dmarc_at_org = at_org;
		job->outstanding++;
		if (job->res.query(job->res.impl, res->name, qtype,
		                   readiness_answer, lk) == 0)
			return;
		job->outstanding--;
		free(lk);
	}
	check_result_set(
	    res, CHECK_TEMPERROR,
	    "The DNS lookup of %s could not be started; try again.", res->name);
}

/* readiness_mail_from_ok - the seed's rule; false fills res. */
static int
readiness_mail_from_ok(const struct readiness_job *job,
                       struct check_result *res)
{
	const char *dom = job->req.domain, *mf = job->req.mail_from;

	if (strcmp(mf, dom) == 0) {
		check_result_set(
		    res, CHECK_FAIL,
		    "The MAIL FROM domain must be a subdomain such as mail.%s; "
		    "records on the bare domain %s are not accepted.",
		    dom, dom);
		return 0;
	}
	if (strcmp(mf, job->org) != 0 && !domain_is_below(mf, job->org)) {
		check_result_set(
		    res, CHECK_FAIL,
		    "The MAIL FROM domain %s is outside %s, so SPF can never "
		    "align for DMARC; use a subdomain such as mail.%s.",
		    mf, job->org, dom);
		return 0;
	}
	return 1;
}

static void
readiness_start_mx(struct readiness_job *job)
{
	struct check_result *res;
	size_t slot;

	res = readiness_slot(job->rep, CHECK_MX, job->req.mail_from, &slot);
	if (res == NULL)
		return;
	if (job->req.mx_host[0] != '\0')
		snprintf(res->expected, sizeof(res->expected), "MX %s",
		         job->req.mx_host);
	else
		snprintf(res->expected, sizeof(res->expected), "an MX record");
	if (readiness_mail_from_ok(job, res))
		readiness_query(job, slot, CHECK_MX, 0, 0, DNS_TYPE_MX);
}

/* readiness_spf_done - spf_validate() filled the slot. */
static void
readiness_spf_done(void *arg, struct check_result *res)
{
	struct readiness_job *job = arg;

	readiness_note_late(job, (size_t)(res - job->rep->checks));
	readiness_finish_one(job);
}

static void
readiness_start_spf(struct readiness_job *job)
{
	struct spf_validate_request vreq;
	struct check_result *res;
	size_t slot;

	res = readiness_slot(job->rep, CHECK_SPF, job->req.mail_from, &slot);
	if (res == NULL)
		return;
	if (job->req.spf_include[0] != '\0')
		snprintf(res->expected, sizeof(res->expected),
		         "v=spf1 include:%s ~all", job->req.spf_include);
	else
		snprintf(res->expected, sizeof(res->expected),
		         "a valid SPF policy");
	if (!readiness_mail_from_ok(job, res))
		return;
	memset(&vreq, 0, sizeof(vreq));
	snprintf(vreq.domain, sizeof(vreq.domain), "%s", job->req.mail_from);
	memcpy(vreq.egress, job->req.egress, sizeof(vreq.egress));
	vreq.negress = job->req.negress;
	snprintf(vreq.include, sizeof(vreq.include), "%s",
	         job->req.spf_include);
	job->outstanding++;
	if (spf_validate(&job->res, &vreq, res, readiness_spf_done, job) != 0)
		job->outstanding--; /* complete at once */
}

/*
 * readiness_no_selector - DKIM was asked for but no selector is known: the
 * record is missing, never skipped, so the domain cannot become verified
 * without a key.  The sentence names what names a selector.
 */
static void
readiness_no_selector(struct readiness_job *job)
{
	char name[DNS_NAME_TEXT_MAX];
	struct check_result *res;
	size_t slot;

	snprintf(name, sizeof(name), "_domainkey.%s", job->req.domain);
	res = readiness_slot(job->rep, CHECK_DKIM, name, &slot);
	if (res == NULL)
		return;
	snprintf(res->expected, sizeof(res->expected),
	         "a DKIM key record at SELECTOR._domainkey.%s",
	         job->req.domain);
	check_result_set(
	    res, CHECK_MISSING,
	    "No DKIM selector is known, so no key can be checked: give one "
	    "with --selector (authready domain add, or check) or set "
	    "Selector in authready.conf.");
}

static void
readiness_start_dkim(struct readiness_job *job)
{
	char name[DNS_NAME_TEXT_MAX];
	struct check_result *res;
	size_t i, slot;

	if (job->req.nselectors == 0) {
		readiness_no_selector(job);
		return;
	}
	for (i = 0; i < job->req.nselectors; i++) {
		snprintf(name, sizeof(name), "%s._domainkey.%s",
		         job->req.selectors[i].name, job->req.domain);
		res = readiness_slot(job->rep, CHECK_DKIM, name, &slot);
		if (res == NULL)
			return;
		readiness_query(job, slot, CHECK_DKIM, i, 0, DNS_TYPE_TXT);
	}
}

static void
readiness_start_dmarc(struct readiness_job *job)
{
	char name[DNS_NAME_TEXT_MAX];
	struct check_result *res;
	size_t slot;

	snprintf(name, sizeof(name), "_dmarc.%s", job->req.domain);
	res = readiness_slot(job->rep, CHECK_DMARC, name, &slot);
	if (res == NULL)
		return;
	if (dmarc_walk_init(&job->walk, job->req.domain) < 0) {
		check_result_set(res, CHECK_FAIL,
		                 "%s is too long a name for a DMARC lookup.",
		                 job->req.domain);
		return;
	}
	readiness_query(job, slot, CHECK_DMARC, 0, 0, DNS_TYPE_TXT);
}

/* readiness_judge_dmarc - the walk's first record, judged for the
 * domain; ans is the answer at walk name i. */
static void
readiness_judge_dmarc(struct readiness_job *job, size_t i,
                      const struct dns_answer *ans)
{
	struct dmarc_context ctx = {
	    .mail_from = job->req.mail_from,
	    .spf_required = job->req.spf_alignment_required,
	    .dkim_required = job->req.dkim_alignment_required,
	};
	struct dmarc_record rec = {.adkim = 0, .aspf = 0};
	struct dns_answer none;

	for (size_t k = 0; k < job->req.nfrom && k < DMARC_FROM_MAX; k++)
		ctx.from[ctx.nfrom++] = job->req.from_domains[k];
	job->dmarc_judged = true;
	if (i == 0) {
		dmarc_judge(job->req.domain, job->req.domain, ans, NULL,
		            job->req.dmarc_min_policy, &ctx, &job->dmarc_res,
		            &rec);
	} else {
		dns_answer_init(&none, "", DNS_TYPE_TXT, DNS_NODATA, NULL);
		snprintf(none.qname, sizeof(none.qname), "_dmarc.%s",
		         job->req.domain);
		dmarc_judge(job->req.domain, job->walk.names[i], &none, ans,
		            job->req.dmarc_min_policy, &ctx, &job->dmarc_res,
		            &rec);
		dns_answer_free(&none);
	}
	/* The modes the milter's alignment judgement reads (state v4). */
	job->rep->adkim = rec.adkim;
	job->rep->aspf = rec.aspf;
}

/* readiness_dmarc_done - the walk is over: fill the slot and rep->org. */
static void
readiness_dmarc_done(struct readiness_job *job, struct check_result *res,
                     const struct dns_answer *ans)
{
	struct dmarc_walk *w = &job->walk;
	struct dns_answer none;
	size_t used;

	if (w->temp && !job->dmarc_judged) {
		check_result_set(
		    res, CHECK_TEMPERROR,
		    "DNS lookup of TXT %s failed (%s), so the DMARC tree walk "
		    "(RFC 9989) cannot find the policy; the check will be "
		    "retried",
		    res->name, dns_outcome_name(ans->outcome));
		return;
	}
	if (w->temp) {
		/* The policy is known and judged; only the organizational
		 * domain is not: the state keeps the last one found. */
		char failed[REPORT_NAME_MAX];

		memcpy(failed, res->name, sizeof(failed));
		*res = job->dmarc_res;
		used = strnlen(res->warning, sizeof(res->warning));
		snprintf(res->warning + used, sizeof(res->warning) - used,
		         "%sThe organizational domain is not known this time: "
		         "DNS lookup of TXT %s failed (%s).",
		         used > 0 ? " " : "", failed,
		         dns_outcome_name(ans->outcome));
		return;
	}
	dmarc_walk_org(w, job->rep->org, sizeof(job->rep->org));
	if (job->dmarc_judged) {
		*res = job->dmarc_res;
	} else {
		dns_answer_init(&none, "", DNS_TYPE_TXT, DNS_NODATA, NULL);
		dmarc_judge(job->req.domain, job->req.domain, &none, NULL,
		            job->req.dmarc_min_policy, NULL, res, NULL);
		dns_answer_free(&none);
	}
	used = strnlen(res->detail, sizeof(res->detail));
	if (res->status == CHECK_PASS)
		snprintf(res->detail + used, sizeof(res->detail) - used,
		         "; organizational domain %s", job->rep->org);
	else if (!job->dmarc_judged)
		snprintf(res->detail + used, sizeof(res->detail) - used,
		         " (the tree walk asked %zu names, up to _dmarc.%s)",
		         w->asked, w->names[w->asked - 1]);
}

/* readiness_eval_dmarc - one step of the tree walk */
static void
readiness_eval_dmarc(struct readiness_lookup *lk, const struct dns_answer *ans)
{
	struct readiness_job *job = lk->job;
	struct check_result *res = &job->rep->checks[lk->slot];
	size_t i = job->walk.asked;
	bool more = dmarc_walk_take(&job->walk, ans);

	if (!job->dmarc_judged && job->walk.policy == (int)i)
		readiness_judge_dmarc(job, i, ans);
	if (more) {
		snprintf(res->name, sizeof(res->name), "_dmarc.%s",
		         dmarc_walk_next(&job->walk));
		readiness_query(job, lk->slot, CHECK_DMARC, 0, 1, DNS_TYPE_TXT);
		return;
	}
	readiness_dmarc_done(job, res, ans);
}

/* readiness_note_key - count the type of the key a DKIM answer holds. */
static void
readiness_note_key(struct readiness_job *job, const struct dns_answer *ans)
{
	struct dkim_key key;
	char err[8];
	size_t i;

	if (ans == NULL || ans->outcome != DNS_OK)
		return;
	for (i = 0; i < ans->count; i++) {
		const struct dns_rr *rr = &ans->rrs[i];

		if (rr->type != DNS_TYPE_TXT || rr->data == NULL ||
		    dkim_key_parse(rr->data, rr->len, &key, err, sizeof(err)) !=
		        0 ||
		    key.revoked)
			continue;
		if (key.type == DKIM_KEY_ED25519)
			job->keys_ed25519++;
		else
			job->keys_rsa++;
		return;
	}
}

/*
 * readiness_ed25519_warn - every key published is ed25519: the largest
 * mailbox providers do not verify ed25519 signatures yet, so to them the
 * mail carries no valid DKIM signature.  A warning on each DKIM result.
 */
static void
readiness_ed25519_warn(struct readiness_job *job)
{
	size_t i;

	if (job->keys_ed25519 == 0 || job->keys_rsa > 0)
		return;
	for (i = 0; i < job->rep->nchecks && i < REPORT_CHECKS_MAX; i++) {
		struct check_result *res = &job->rep->checks[i];

		if (res->type != CHECK_DKIM || res->warning[0] != '\0')
			continue;
		snprintf(res->warning, sizeof(res->warning),
		         "Every DKIM key of %s is ed25519, and the largest "
		         "mailbox providers (Gmail, Microsoft, Yahoo) do not "
		         "verify ed25519 yet: sign with an RSA key (2048 bits) "
		         "under a second selector as well.",
		         job->req.domain);
	}
}

static void
readiness_eval_dkim(struct readiness_lookup *lk, const struct dns_answer *ans)
{
	struct readiness_job *job = lk->job;
	const struct readiness_selector *sel =
	    &job->req.selectors[lk->selector];
	struct dkim_expect exp = {
	    .domain = job->req.domain,
	    .selector = sel->name,
	    .key_path = sel->key_path,
	    .key_pem = sel->key_pem,
	    .key_pem_len = sel->key_pem_len,
	};

	dkim_evaluate(ans, &exp, &job->rep->checks[lk->slot]);
	readiness_note_key(job, ans);
}

/* readiness_finish_one - one result is in; the last one ends the job. */
static void
readiness_finish_one(struct readiness_job *job)
{
	if (--job->outstanding == 0) {
		readiness_budget_explain(job);
		readiness_ed25519_warn(job);
		job->done(job->arg, job->rep);
		free(job);
	}
}

/* readiness_answer - resolver callback: evaluate, finish when last. */
static void
readiness_answer(void *arg, const struct dns_answer *ans)
{
	struct readiness_lookup *lk = arg;
	struct readiness_job *job = lk->job;
	struct check_result *res = &job->rep->checks[lk->slot];

	switch (lk->type) {
	case CHECK_MX:
		mx_evaluate(ans, job->req.mx_host, res);
		break;
	case CHECK_DKIM:
		readiness_eval_dkim(lk, ans);
		break;
	case CHECK_DMARC:
		readiness_eval_dmarc(lk, ans);
		break;
	case CHECK_SPF: /* spf_validate() does its own lookups */
		break;
	}
	readiness_note_late(job, lk->slot);
	free(lk);
	readiness_finish_one(job);
}

int
readiness_start(const struct resolver *res, const struct readiness_request *req,
                struct report *rep, readiness_done_cb done, void *arg)
{
	struct readiness_job *job;

	/* Slots are cleared as they are reserved (readiness_slot): a report
	 * is 50 KB and a refresh starts one per domain. */
	rep->nchecks = 0;
	rep->org[0] = '\0';
	rep->adkim = rep->aspf = 0;
	snprintf(rep->domain, sizeof(rep->domain), "%s", req->domain);
	job = calloc(1, sizeof(*job));
	if (job == NULL)
		return 1;
	job->res = job->base = *res;
	job->deadline = UINT64_MAX;
	if (req->budget_ms > 0) {
		job->deadline = text_now_ms() + req->budget_ms;
		job->res.impl = job;
		job->res.query = readiness_budget_query;
		job->res.query_by = readiness_budget_query_by;
	}
	job->req = *req;
	job->rep = rep;
	job->done = done;
	job->arg = arg;
	if (domain_org(req->domain, job->org, sizeof(job->org)) != 0)
		snprintf(job->org, sizeof(job->org), "%s", req->domain);

	/* Hold a reference so no callback can finish the job early. */
	job->outstanding = 1;
	if (req->checks & READINESS_CHECK_BIT(CHECK_MX))
		readiness_start_mx(job);
	if (req->checks & READINESS_CHECK_BIT(CHECK_SPF))
		readiness_start_spf(job);
	if (req->checks & READINESS_CHECK_BIT(CHECK_DKIM))
		readiness_start_dkim(job);
	if (req->checks & READINESS_CHECK_BIT(CHECK_DMARC))
		readiness_start_dmarc(job);
	if (--job->outstanding == 0) {
		free(job);
		return 1;
	}
	return 0;
}

int
readiness_mail_from(const char *domain, const char *text, char *out,
                    size_t outlen, char *err, size_t errlen)
{
	char joined[DNS_NAME_TEXT_MAX];
	size_t len = strlen(text);

	if (len == 0) {
		snprintf(err, errlen, "the MAIL FROM name is empty");
		return -1;
	}
	if (text[len - 1] != '.' && memchr(text, '.', len) == NULL) {
		if (snprintf(joined, sizeof(joined), "%s.%s", text, domain) >=
		    (int)sizeof(joined)) {
			snprintf(err, errlen, "the MAIL FROM name is too long");
			return -1;
		}
		return domain_normalize(joined, strlen(joined), out, outlen,
		                        err, errlen);
	}
	return domain_normalize(text, len, out, outlen, err, errlen);
}

int
readiness_load_key(struct readiness_selector *sel, const char *path, char *err,
                   size_t errlen)
{
	char why[SAFEFILE_ERR_MAX];
	struct stat sb;
	char *buf;
	size_t n;

	if (strlen(path) >= sizeof(sel->key_path)) {
		snprintf(err, errlen,
		         "key file path %.64s... is longer than %d "
		         "octets",
		         path, READINESS_KEY_PATH_MAX - 1);
		return -1;
	}
	/* never blocks: a FIFO in place of the key must not wedge a thread */
	if (safefile_read(path, READINESS_KEY_MAX, 0, &buf, &n, &sb, why,
	                  sizeof(why)) != 0) {
		snprintf(err, errlen, "cannot read key file %s", why);
		return -1;
	}
	/* A key others can replace is not the operator's key any more. */
	if ((sb.st_mode & S_IWOTH) != 0 || n == 0) {
		snprintf(err, errlen, "key file %s: %s", path,
		         n == 0
		             ? "is empty"
		             : "anyone can write it; refusing it (chmod 600 or "
		               "640)");
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	snprintf(sel->key_path, sizeof(sel->key_path), "%s", path);
	free(sel->key_pem);
	sel->key_pem = buf;
	sel->key_pem_len = n;
	return 0;
}

void
readiness_request_free(struct readiness_request *req)
{
	size_t i;

	for (i = 0; i < req->nselectors && i < READINESS_SELECTORS_MAX; i++) {
		free(req->selectors[i].key_pem);
		req->selectors[i].key_pem = NULL;
	}
}

int
readiness_add_egress(struct readiness_request *req, const char *text)
{
	struct spf_range r;

	if (req->negress >= SPF_EGRESS_MAX || spf_range_parse(text, &r) != 0)
		return -1;
	req->egress[req->negress++] = r;
	return 0;
}
