/*
 * milter.h - the libmilter callbacks of authready-milter, nothing else.
 *
 * SYNOPSIS
 *	#include "milter.h"
 *
 *	The functions: see milter.c.
 *
 * DESCRIPTION
 *	At MAIL FROM the sender rules (sender.c) parse the reverse-path and
 *	find the registered domain that owns it, reading the store through this
 *	file (no DNS on a milter thread: a domain without a state is queued to
 *	the checker thread, and the session waits at most CheckWait), the pure
 *	policy (policy.c) picks the action, and the action is taken: accept,
 *	451, 550, or - at end of message - quarantine (smfi_quarantine, queue
 *	ID recorded under the domain with the envelope sender and the door it
 *	came through, unix or TCP: see release.h) or a tag header.  Every
 *	judged decision is one log line.
 *
 *	With FromCheck on, the From header fields are gathered too and a
 *	decision that MAIL FROM did not settle (no tempfail or reject) is
 *	taken at end of headers by fromcheck_decide(), the From domain
 *	judged by the same sender rules and policy.
 *
 *	Negotiation asks only for connect, MAIL FROM and end of message (and
 *	abort/close for bookkeeping), and with FromCheck the headers (each
 *	no-reply) and end of headers; every other stage is skipped and every
 *	stage that cannot change anything is marked no-reply, so a session
 *	costs the fewest round trips.
 */
#ifndef AUTHREADY_MILTER_H
#define AUTHREADY_MILTER_H

#include <libmilter/mfapi.h>
#include <stdbool.h>

#include "checkerd.h"
#include "store.h"

#define MILTER_NAME "authready"

/* What the callbacks need; set once before smfi_main(), then read-only. */
struct replica;

struct milter_env {
	struct store *store;
	struct checkerd *checkerd;
	struct replica *replica;   /* StoreDSN: the replica thread; NULL none */
	struct webhookd *webhookd; /* WebhookURL: delivery thread; NULL none */
	struct webhookd *webhookd_fleet; /* and StoreDSN: the fleet's outbox */
	bool inet_door; /* the socket is TCP: held entries are marked so */
};

/* milter_init - the environment and the reader pool; 0 ok, -1 with err. */
int milter_init(const struct milter_env *env, char *err, size_t errlen);

/* milter_sessions_open - sessions that still have a context: libmilter
 * does not end them when smfi_main() returns (the MTA keeps them open). */
long milter_sessions_open(void);

/* milter_fini - free the reader pool (after smfi_main returned). */
void milter_fini(void);

/* milter_desc - the filter description for smfi_register(). */
struct smfiDesc *milter_desc(void);

#endif
