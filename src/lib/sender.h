/*
 * sender.h - who owns a MAIL FROM, and the facts the policy decides on.
 *
 * SYNOPSIS
 *	#include "sender.h"
 *
 *	The functions: see sender.c.
 *
 * DESCRIPTION
 *	sender_facts() turns the MAIL FROM argument into a struct policy_input
 *	for policy_decide(): it parses the reverse-path (revpath.c), finds the
 *	registered domain that owns the sender's domain, decides whether the
 *	session waits for a check and for how long, and whether the state it
 *	found is stale.  It reads the registry and the state, queues checks
 *	and waits through struct sender_env, the way readiness.c reads DNS
 *	through resolver.h: milter.c implements it on the store and the
 *	checker thread, tests/test_sender.c with rows in memory.  No I/O and
 *	no clock of its own.
 *
 * RULES
 *	Ownership: the sender domain D itself (a state, or a registry
 *	entry); else D's parent P when D is P's MAIL FROM name
 *	(bounces@mail.example.com belongs to example.com); else D's
 *	nearest other parent with a registry entry, among the names the
 *	checker's DMARC tree walk asks for D (dmarc_walk_names: at most 8,
 *	down to the top-level domain); else a state (of an unregistered
 *	domain) at D's organizational domain by the public suffix list.
 *	Unowned, the domain checked is that organizational domain (D when
 *	it has none).  Only a registered parent owns D by the walk: a state
 *	an unregistered check left at a short name never does.
 *	Organizational domain (f->lk.org, for the From's alignment): the
 *	org the checker stored with the owner's state (state_org_of());
 *	the public suffix list's only when none is stored.
 *	Wait: no state yet, no store error, no DNS trouble whose retry is
 *	still ahead, a domain that is registered (or UnregisteredDomains
 *	check) and a sender that is not exempt: the check is queued and the
 *	session waits at most CheckWait, until a state or a check that DNS
 *	trouble left undecided is stored.
 *	Staleness: a state more than SENDER_STALE_SLACK seconds past its
 *	next check, or one served after DNS trouble, is stale (it may no
 *	longer reject).  A store error counts as DNS trouble: no 5xx.
 *	Use: with UnregisteredDomains check, the use of a state that may be
 *	an unregistered domain's is noted (env->note_use).
 *	Reverse-path: one that gives no domain is a policy input
 *	(policy_input.revpath); a local part over 64 octets and a path over
 *	256 octets are accepted and named in f->oddity for the log.  A local
 *	part too long to keep whole (revpath.h local_cut) is never matched
 *	against ExemptSenders.
 */
#ifndef AUTHREADY_SENDER_H
#define AUTHREADY_SENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"
#include "revpath.h"
#include "storecodec.h"

/* A state this far past its next check is stale (the checker is behind
 * or cannot reach DNS): it may no longer reject. */
#define SENDER_STALE_SLACK 600
#define SENDER_MAILBOX_MAX (REVPATH_LOCAL_BUF + 1 + REVPATH_DOMAIN_BUF)
#define SENDER_PROBLEM_MAX (16 + DOMAIN_BUF + 16)

/*
 * What sender_facts() reads and does.  The read functions return
 * STORE_OK, STORE_NOTFOUND, STORE_CORRUPT (counts as not found; the
 * implementation logs it) or STORE_ERROR.
 */
struct sender_env {
	void *impl;
	/* begin - one consistent read for state() and reg() until end() */
	int (*begin)(void *impl);
	void (*end)(void *impl);
	int (*state)(void *impl, const char *domain,
	             struct storecodec_state_summary *sum);
	int (*reg)(void *impl, const char *domain,
	           struct storecodec_reg_summary *reg);
	/* peek - the state in a read of its own (after a wait) */
	int (*peek)(void *impl, const char *domain,
	            struct storecodec_state_summary *sum);
	/* request - queue a check; waits end wait_ms from now; false when
	 * it cannot be queued */
	bool (*request)(void *impl, const char *domain, bool unregistered,
	                unsigned wait_ms);
	/* wait - until states were stored; false once wait_ms passed */
	bool (*wait)(void *impl);
	/* note_use - mail used domain's state */
	void (*note_use)(void *impl, const char *domain);
	/* now - unix seconds */
	int64_t (*now)(void *impl);
};

/* The settings the rules read (from the connection's snapshot). */
struct sender_rules {
	const struct policy_config *policy;
	const char *mail_from;  /* MailFrom: label or FQDN */
	unsigned check_wait_ms; /* CheckWait */
	bool registry_stale;    /* the replica is ReplicaMaxLag behind
	                           (policy_input.registry_stale) */
};

/* What the store says about one sender domain. */
struct sender_lookup {
	char domain[DOMAIN_BUF]; /* the registered (or checked) domain */
	bool registered;
	bool reg_assumed; /* registered taken from a verified state, unread */
	bool found;       /* a state record exists (maybe "unknown") */
	bool have_state;  /* ... and it says something other than unknown */
	bool store_error;
	struct storecodec_state_summary sum;
	char org[DOMAIN_BUF]; /* the sender domain's organizational domain */
};

/* Everything learnt about one MAIL FROM; in points into the rest. */
struct sender_facts {
	int code; /* enum revpath_code */
	struct revpath rp;
	char err[REVPATH_ERR_MAX];
	char mailbox[SENDER_MAILBOX_MAX]; /* local@domain, no <> */
	struct sender_lookup lk;
	bool waited;
	bool timed_out;
	char first_problem[SENDER_PROBLEM_MAX];
	const char *oddity; /* for the log; NULL none */
	struct policy_input in;
};

/* sender_facts - the policy's input for the MAIL FROM argument arg (a C
 * string), in f->in; f->code says whether a domain was found. */
void sender_facts(const struct sender_env *env,
                  const struct sender_rules *rules, const char *arg,
                  struct sender_facts *f);

/* sender_facts_domain - the same rules for a mailbox parsed elsewhere
 * (the From header's): local as written (local_cut: only its start; it
 * is then never matched against ExemptSenders) and domain, normalized.
 * f->code is REVPATH_OK. */
void sender_facts_domain(const struct sender_env *env,
                         const struct sender_rules *rules, const char *local,
                         bool local_cut, const char *domain,
                         struct sender_facts *f);

/* sender_state_name - the state for the log: a readiness name,
 * "unknown" (registered, never checked), "unregistered", or "-" when
 * the path gave no domain. */
const char *sender_state_name(const struct sender_facts *f);

/* sender_signer - the owner of f's domain as a DKIM signing domain: true
 * when its state is known and a DKIM record of it passed; domain gets
 * the owner, org its organizational domain (stored, else the public
 * suffix list's). */
bool sender_signer(const struct sender_facts *f, char domain[DOMAIN_BUF],
                   char org[DOMAIN_BUF]);

/* sender_alignment_known - the owner's state is known, fresh and read
 * without DNS or store trouble: alignment may be judged on it. */
bool sender_alignment_known(const struct sender_facts *f);

#endif
