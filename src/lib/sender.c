/*
 * sender.c - who owns a MAIL FROM, and the facts the policy decides on.
 *
 * SYNOPSIS
 *	#include "sender.h"
 *
 *	void sender_facts(const struct sender_env *env,
 *	    const struct sender_rules *rules, const char *arg,
 *	    struct sender_facts *f);
 *	void sender_facts_domain(const struct sender_env *env,
 *	    const struct sender_rules *rules, const char *local,
 *	    bool local_cut, const char *domain, struct sender_facts *f);
 *	const char *sender_state_name(const struct sender_facts *f);
 *	bool sender_signer(const struct sender_facts *f,
 *	    char domain[DOMAIN_BUF], char org[DOMAIN_BUF]);
 *	bool sender_alignment_known(const struct sender_facts *f);
 * DESCRIPTION
 *	The rules are listed in sender.h.  This file applies them in order:
 *	parse, own, note the use, wait, first problem, policy input.  The
 *	registry and the state are read through env, in one consistent read
 *	for the ownership search, which walks the sender domain's parents
 *	nearest first (the names the checker's DMARC tree walk asks, at
 *	most DMARC_WALK_MAX) for a registered one.  The organizational
 *	domain is the one the checker stored with the owner's state (RFC
 *	9989 tree walk); the public suffix list is asked only when no
 *	stored org is known: for a domain no registered one owns (where an
 *	unregistered domain's state is, which name its check is of) and for
 *	the org of a domain whose owner was never checked.  A verified
 *	state is the hot path: its registry entry is not read (a verified
 *	state is taken as registered).
 *
 *	The first problem ("DKIM x._domainkey.example.com missing") comes
 *	from the state summary the lookup read: storecodec_state_peek() copies
 *	the first record that is not a pass.
 * DIAGNOSTICS
 *	None of its own: the env implementation logs store trouble, and a
 *	store error reaches the policy as DNS trouble.
 * SEE ALSO
 *	policy(3) policy_decide(), revpath(3), milter.c (the env on LMDB and
 *	the checker thread).
 */
#include "sender.h"

#include <string.h>
#include <strings.h>

#include "dmarc.h"
#include "domainname.h"
#include "readiness.h"
#include "state.h"
#include "store.h"
#include "text.h"

/* The oddities of a path let through, by SENDER_ODD_* bits. */
#define SENDER_ODD_LONG_LOCAL 1u
#define SENDER_ODD_LONG_PATH 2u
static const char *const sender_oddities[] = {
    [0] = NULL,
    [SENDER_ODD_LONG_LOCAL] = "local-part-over-64",
    [SENDER_ODD_LONG_PATH] = "path-over-256",
    [SENDER_ODD_LONG_LOCAL | SENDER_ODD_LONG_PATH] =
        "path-over-256,local-part-over-64",
};

/* sender_mail_from_of - is d the MAIL FROM domain of registered p?  p
 * points into d (its parent). */
static bool
sender_mail_from_of(const struct sender_env *env,
                    const struct sender_rules *rules, const char *p,
                    const char *d)
{
	char mf[DOMAIN_BUF], err[256];
	struct storecodec_reg_summary reg;
	const char *label;
	size_t n;

	if (env->reg(env->impl, p, &reg) != STORE_OK)
		return false;
	label = reg.mail_from[0] ? reg.mail_from : rules->mail_from;
	/* The usual MAIL FROM setting is one label ("mail") and p is d's
	 * parent: d must be that label, a dot, then p (d is normalized). */
	n = strspn(label, "abcdefghijklmnopqrstuvwxyz"
	                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
	if (n > 0 && label[n] == '\0')
		return (size_t)(p - d) == n + 1 &&
		       strncasecmp(d, label, n) == 0;
	if (readiness_mail_from(p, label, mf, sizeof(mf), err, sizeof(err)) !=
	    0)
		return false;
	return strcmp(mf, d) == 0;
}

/* sender_try - domain as the answer: its state, or its registry entry.
 * known_registered: the caller has just read domain's registry entry. */
static bool
sender_try(const struct sender_env *env, const char *domain,
           bool known_registered, struct sender_lookup *lk)
{
	struct storecodec_reg_summary reg;
	int rc = env->state(env->impl, domain, &lk->sum);

	if (rc == STORE_ERROR) {
		lk->store_error = true;
		return false;
	}
	if (rc == STORE_OK) {
		text_copy(lk->domain, sizeof(lk->domain), domain);
		lk->found = true;
		lk->have_state = lk->sum.state != READINESS_UNKNOWN;
		/* A verified domain is the hot path: no registry read.  Other
		 * states may come from checks of unregistered domains. */
		lk->reg_assumed =
		    !known_registered && lk->sum.state == READINESS_VERIFIED;
		lk->registered = known_registered || lk->reg_assumed ||
		                 env->reg(env->impl, domain, &reg) == STORE_OK;
		return true;
	}
	rc = known_registered ? STORE_OK : env->reg(env->impl, domain, &reg);
	if (rc == STORE_OK) {
		text_copy(lk->domain, sizeof(lk->domain), domain);
		lk->registered = true;
		return true;
	}
	if (rc == STORE_ERROR)
		lk->store_error = true;
	return false;
}

/* sender_org - the organizational domain of d into org, or "". */
static void
sender_org(const char *d, char org[DOMAIN_BUF])
{
	if (domain_org(d, org, DOMAIN_BUF) != 0)
		org[0] = '\0';
}

/* sender_parent_owns - the nearest registered parent of d among the
 * names of the DMARC tree walk (dmarc_walk_names(), after d itself),
 * skip excepted (the MAIL FROM parent, already tried).  A parent's
 * state covers d by construction (state_org_covers(): d is below it),
 * so the stored org does not narrow this search; it gives d's
 * organizational domain (sender_org_known).  Only registry entries
 * count here: an unregistered domain's state (UnregisteredDomains
 * check) is at its organizational domain, tried by the caller. */
static bool
sender_parent_owns(const struct sender_env *env, const char *d,
                   const char *skip, struct sender_lookup *lk)
{
	char names[DMARC_WALK_MAX][DMARC_NAME_MAX];
	struct storecodec_reg_summary reg;
	size_t n = dmarc_walk_names(d, names, DMARC_WALK_MAX);
	int rc;

	for (size_t i = 1; i < n; i++) {
		if (skip != NULL && strcmp(names[i], skip) == 0)
			continue;
		rc = env->reg(env->impl, names[i], &reg);
		if (rc == STORE_ERROR) {
			lk->store_error = true;
			return false;
		}
		if (rc == STORE_OK && sender_try(env, names[i], true, lk))
			return true;
	}
	return false;
}

/* sender_own - the ownership rule on one read: d, then d's parent when
 * d is its MAIL FROM name, then d's nearest registered parent, then
 * (an unregistered domain's state) d's organizational domain by the
 * public suffix list; have_org says whether org was looked up. */
static bool
sender_own(const struct sender_env *env, const struct sender_rules *rules,
           const char *d, char org[DOMAIN_BUF], bool *have_org,
           struct sender_lookup *lk)
{
	const char *parent = strchr(d, '.');
	bool parent_owns = false;

	if (sender_try(env, d, false, lk))
		return true;
	if (parent != NULL) {
		parent++;
		parent_owns = sender_mail_from_of(env, rules, parent, d);
		if (parent_owns && sender_try(env, parent, true, lk))
			return true;
	}
	if (sender_parent_owns(env, d, parent_owns ? parent : NULL, lk))
		return true;
	if (lk->store_error)
		return false;
	sender_org(d, org);
	*have_org = true;
	/* The organizational domain, unless it is the parent just tried
	 * (a registered one was found above). */
	if (org[0] == '\0' || strcmp(org, d) == 0 ||
	    (parent_owns && strcmp(org, parent) == 0))
		return false;
	return sender_try(env, org, false, lk);
}

/* sender_resolve - the registered domain that owns sender domain d; lk
 * comes zeroed from the caller. */
static void
sender_resolve(const struct sender_env *env, const struct sender_rules *rules,
               const char *d, struct sender_lookup *lk)
{
	char org[DOMAIN_BUF];
	bool have_org = false, found;

	if (env->begin(env->impl) != STORE_OK) {
		lk->store_error = true;
	} else {
		found = sender_own(env, rules, d, org, &have_org, lk);
		env->end(env->impl);
		if (found)
			return;
	}
	/* Unregistered and no state: a check with the global expectations
	 * would be of the organizational domain, whose MAIL FROM name d
	 * usually is; with nothing stored to say which that is, the public
	 * suffix list does. */
	if (!have_org)
		sender_org(d, org);
	text_copy(lk->domain, sizeof(lk->domain), org[0] ? org : d);
}

/* sender_org_known - d's organizational domain into lk->org: the org
 * the checker stored with the owner's state when there is one (d is at
 * or below the owner), else the public suffix list's, else d. */
static void
sender_org_known(const char *d, struct sender_lookup *lk)
{
	const char *below = lk->domain;

	if (lk->found && lk->sum.org[0] != '\0' &&
	    (strcmp(d, below) == 0 || domain_is_below(d, below))) {
		text_copy(lk->org, sizeof(lk->org),
		          state_org_of(below, lk->sum.org));
		return;
	}
	sender_org(d, lk->org);
	if (lk->org[0] == '\0')
		text_copy(lk->org, sizeof(lk->org), d);
}

/* sender_must_wait - the wait rule: whether the session waits for a
 * check of lk->domain (an exempt sender's readiness cannot matter). */
static bool
sender_must_wait(const struct sender_rules *rules,
                 const struct sender_lookup *lk, const char *mailbox,
                 const char *domain, int64_t now)
{
	const struct policy_config *pc = rules->policy;

	if (lk->have_state || lk->store_error)
		return false;
	/* DNS trouble already known, and its retry still ahead */
	if (lk->found && lk->sum.dns_errors > 0 && lk->sum.next_check > now)
		return false;
	if (!lk->registered && pc->unregistered != POLICY_UNREG_CHECK)
		return false;
	return policy_exempt(pc, mailbox, domain) == NULL;
}

/* sender_wait - queue the check and wait at most CheckWait for a state,
 * or a check that DNS trouble left undecided; false when none came. */
static bool
sender_wait(const struct sender_env *env, const struct sender_rules *rules,
            struct sender_lookup *lk)
{
	if (!env->request(env->impl, lk->domain, !lk->registered,
	                  rules->check_wait_ms))
		return false;
	for (;;) {
		if (!env->wait(env->impl))
			return false; /* CheckWait passed */
		if (env->peek(env->impl, lk->domain, &lk->sum) != STORE_OK)
			continue;
		lk->found = true;
		lk->have_state = lk->sum.state != READINESS_UNKNOWN;
		if (lk->have_state || lk->sum.dns_errors > 0)
			return true;
	}
}

/* sender_problem - "DKIM x._domainkey.example.com missing" from the
 * summary's first problem, or "". */
static void
sender_problem(const struct storecodec_state_summary *sum,
               char out[SENDER_PROBLEM_MAX])
{
	size_t n = 0;

	out[0] = '\0';
	if (!sum->problem)
		return;
	text_append(out, SENDER_PROBLEM_MAX, &n,
	            state_type_label(sum->problem_type));
	text_append(out, SENDER_PROBLEM_MAX, &n, " ");
	text_append(out, SENDER_PROBLEM_MAX, &n, sum->problem_name);
	text_append(out, SENDER_PROBLEM_MAX, &n, " ");
	text_append(out, SENDER_PROBLEM_MAX, &n,
	            check_status_name((enum check_status)sum->problem_status));
}

/* sender_exempt_key - the mailbox ExemptSenders is matched against;
 * NULL for the null sender and for a local part kept cut (too long to
 * keep whole, it cannot be an exempt sender). */
static const char *
sender_exempt_key(const struct sender_facts *f)
{
	if (f->code == REVPATH_NULL || f->rp.local_cut)
		return NULL;
	return f->mailbox;
}

/* sender_input - the facts for the policy, from the lookup; the
 * staleness rule. */
static void
sender_input(struct sender_facts *f, int64_t now)
{
	const struct sender_lookup *lk = &f->lk;
	struct policy_input *in = &f->in;

	memset(in, 0, sizeof(*in));
	in->outbound = true;
	in->revpath = f->code;
	in->path_error = f->err;
	in->null_sender = f->code == REVPATH_NULL;
	in->sender = sender_exempt_key(f);
	in->domain = f->code == REVPATH_OK ? lk->domain : NULL;
	in->registered = lk->registered;
	in->have_state = lk->have_state;
	in->state = lk->have_state ? (enum domain_readiness)lk->sum.state
	                           : READINESS_UNKNOWN;
	in->dns_trouble = lk->found && lk->sum.dns_errors > 0;
	in->stale = lk->have_state &&
	            ((lk->sum.next_check > 0 &&
	              now > lk->sum.next_check + SENDER_STALE_SLACK) ||
	             in->dns_trouble);
	if (lk->store_error)
		in->dns_trouble = true; /* no state we can trust: never 5xx */
	in->first_problem = f->first_problem[0] ? f->first_problem : NULL;
	in->check_timed_out = f->timed_out;
	if (lk->have_state) {
		in->pass_types = lk->sum.pass_types;
		in->problem_types = lk->sum.problem_types;
	}
}

/* sender_judge - the rules after the parse: own, note the use, wait,
 * first problem, policy input (f->code, f->rp and f->mailbox set). */
static void
sender_judge(const struct sender_env *env, const struct sender_rules *rules,
             struct sender_facts *f)
{
	struct sender_lookup *lk = &f->lk;

	if (f->code == REVPATH_OK) {
		sender_resolve(env, rules, f->rp.domain, lk);
		/* The state of an unregistered domain lives while mail uses
		 * it: note the use for the checker thread.  A state the wait
		 * below creates is stamped by its check; with
		 * UnregisteredDomains accept or reject no state is used and
		 * the old ones expire. */
		if (lk->found && (!lk->registered || lk->reg_assumed) &&
		    rules->policy->unregistered == POLICY_UNREG_CHECK)
			env->note_use(env->impl, lk->domain);
		if (sender_must_wait(rules, lk, sender_exempt_key(f),
		                     f->rp.domain, env->now(env->impl))) {
			f->waited = true;
			f->timed_out = !sender_wait(env, rules, lk);
		}
		if (lk->have_state && lk->sum.state != READINESS_VERIFIED)
			sender_problem(&lk->sum, f->first_problem);
		sender_org_known(f->rp.domain, lk);
	}
	sender_input(f, env->now(env->impl));
	f->in.registry_stale = rules->registry_stale;
}

/* sender_mailbox - local@domain into f->mailbox. */
static void
sender_mailbox(struct sender_facts *f)
{
	size_t used;

	used = text_copy(f->mailbox, sizeof(f->mailbox), f->rp.local);
	text_append(f->mailbox, sizeof(f->mailbox), &used, "@");
	text_append(f->mailbox, sizeof(f->mailbox), &used, f->rp.domain);
}

void
sender_facts(const struct sender_env *env, const struct sender_rules *rules,
             const char *arg, struct sender_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->code =
	    revpath_parse(arg, strlen(arg), &f->rp, f->err, sizeof(f->err));
	f->oddity =
	    sender_oddities[(f->rp.long_local ? SENDER_ODD_LONG_LOCAL : 0u) |
	                    (f->rp.long_path ? SENDER_ODD_LONG_PATH : 0u)];
	/* The policy matches ExemptSenders against the mailbox, without
	 * angle brackets or source route, its domain normalized. */
	sender_mailbox(f);
	sender_judge(env, rules, f);
}

void
sender_facts_domain(const struct sender_env *env,
                    const struct sender_rules *rules, const char *local,
                    bool local_cut, const char *domain, struct sender_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->code = REVPATH_OK;
	text_copy(f->rp.local, sizeof(f->rp.local), local);
	f->rp.local_cut = local_cut || strlen(local) >= sizeof(f->rp.local);
	text_copy(f->rp.domain, sizeof(f->rp.domain), domain);
	sender_mailbox(f);
	sender_judge(env, rules, f);
}

const char *
sender_state_name(const struct sender_facts *f)
{
	if (f->code != REVPATH_OK)
		return "-";
	if (f->lk.have_state)
		return state_readiness_name(f->lk.sum.state);
	return f->lk.registered ? "unknown" : "unregistered";
}

bool
sender_signer(const struct sender_facts *f, char domain[DOMAIN_BUF],
              char org[DOMAIN_BUF])
{
	const struct sender_lookup *lk = &f->lk;

	if (f->code != REVPATH_OK || !lk->have_state || !lk->sum.dkim_pass)
		return false;
	text_copy(domain, DOMAIN_BUF, lk->domain);
	if (lk->sum.org[0] != '\0') {
		text_copy(org, DOMAIN_BUF,
		          state_org_of(lk->domain, lk->sum.org));
		return true;
	}
	sender_org(lk->domain, org);
	if (org[0] == '\0')
		text_copy(org, DOMAIN_BUF, lk->domain);
	return true;
}

bool
sender_alignment_known(const struct sender_facts *f)
{
	return f->code == REVPATH_OK && f->lk.have_state && !f->in.stale &&
	       !f->in.dns_trouble;
}
