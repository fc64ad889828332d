/*
 * decide.h - one MAIL FROM judged on the daemon's store and checker,
 *	whichever door it came through.
 *
 * SYNOPSIS
 *	#include "decide.h"
 *
 *	The functions: see decide.c.
 *
 * DESCRIPTION
 *	Both doors of authready-milter (the milter, milter.c, and the
 *	Postfix policy door, policyd.c) judge a sender the same way: the
 *	rules of sender.c give the facts, policy_decide() the action.  This
 *	module is what they share: the store readers (a pool without
 *	locks), sender.c's struct sender_env on them and on the checker
 *	thread, the decision's log line and the held-message index entry
 *	of a quarantine.  It was the middle of milter.c; it moved here when
 *	the policy door came, so both doors run the very same code.  The
 *	milter's header From check (FromCheck) judges the From mailbox here
 *	too (decide_mailbox()) and logs its own line at end of headers; the
 *	policy door sees no headers and ignores FromCheck.  With StoreDSN
 *	the registrations come from the replica (replica.c): while it is
 *	ReplicaMaxLag behind, the rules are told so (registry_stale) for
 *	the envelope and the From mailbox alike, through either door.
 */
#ifndef AUTHREADY_DECIDE_H
#define AUTHREADY_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "checkerd.h"
#include "configfile.h"
#include "policy.h"
#include "sender.h"
#include "store.h"

#define DECIDE_READERS_MAX 512 /* store readers kept for deciding threads */

/* What a door says about one MAIL FROM (or policy request). */
struct decide_request {
	const char *path;              /* the MAIL FROM argument, "<...>" */
	const struct sockaddr *client; /* NULL: unknown */
	const char *auth;              /* SASL login; NULL or "" none */
	const char *session;           /* queue ID or session name */
	const char *client_text;       /* for the log */
	const char *sender_text;       /* for the log: raw, sanitized there */
	bool may_wait;                 /* false: a check is not waited for */
	bool quiet;                    /* judged, not logged: the door logs */
	const char *fallback;          /* FallbackMailFrom when the door can
	                                  replace the sender (the milter with
	                                  SMFIF_CHGFROM); NULL: it cannot */
};

/* The outcome: judged is false for mail out of scope (accepted, no line). */
struct decide_result {
	bool judged;
	bool wanted_wait; /* may_wait was false and the rules wanted one */
	struct sender_facts facts;
	struct policy_decision decision;
};

struct replica;

/* decide_init - the store, the checker (NULL: none) and the replica
 * thread (NULL: no StoreDSN) both doors use; once, before any door
 * opens. */
void decide_init(struct store *store, struct checkerd *checkerd,
                 struct replica *replica);

/* decide_fini - free the reader pool (after the doors closed). */
void decide_fini(void);

/* decide_sender - judge one MAIL FROM under cfg and log the decision
 * (not with rq->quiet: the door calls decide_log or logs a line of its
 * own); with rq->fallback, OnMailFromNotReady fallback applies
 * (fallback_decide()). */
void decide_sender(const struct config *cfg, const struct decide_request *rq,
                   struct decide_result *res);

/* decide_log - the decision line of one judged MAIL FROM. */
void decide_log(const struct decide_request *rq, const struct sender_facts *f,
                const struct policy_decision *d);

/* decide_mailbox - judge a mailbox parsed elsewhere (the From header's:
 * local as written, local_cut when only its start was kept, and domain)
 * by the same sender rules and policy under cfg, waiting for a check as
 * the rules say; nothing is logged.  OnMailFromNotReady fallback
 * applies: a From domain whose only failing records are its MAIL
 * FROM's passes DMARC by DKIM whatever the envelope is. */
void decide_mailbox(const struct config *cfg, const char *local, bool local_cut,
                    const char *domain, struct sender_facts *f,
                    struct policy_decision *d);

struct metrics;

/* decide_metrics_register - the decision metrics into m (metricsd.c);
 * 0, or -1 with err. */
int decide_metrics_register(struct metrics *m, char *err, size_t errlen);

/* decide_state_label - the state label of a decision on f: a readiness,
 * "unregistered" or "none" (no domain). */
size_t decide_state_label(const struct sender_facts *f);

/* decide_count - count one decision (decide_log does it for its own). */
void decide_count(enum policy_action action, size_t state_label);

/* decide_hold_index - index a held message under domain with its
 * sender, reason and door; false (logged) when it cannot be. */
bool decide_hold_index(const char *domain, const char *queue_id,
                       const char *mailbox, const char *reason,
                       enum held_door door);

#endif
