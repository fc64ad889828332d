/*
 * pgcheck.h - refreshes shared by a fleet's checkers through PostgreSQL.
 *
 * SYNOPSIS
 *	#include "pgcheck.h"
 *
 *	The functions: see pgcheck.c.
 *
 * DESCRIPTION
 *	With StoreDSN, every checker (the daemon's, `authready refresh`,
 *	`authready checkerd`) claims the domains it checks in
 *	authready_checks with a lease (SELECT ... FOR UPDATE SKIP LOCKED, a
 *	fresh lease_token), commits the claim, resolves outside any
 *	transaction, and writes the results back fenced by their tokens,
 *	a batch at a time: a result whose row holds another token (the
 *	lease ran out and another checker took the domain) is dropped.  The
 *	write-back of a batch takes one clock version per result (one bump
 *	of the clock row), writes authready_state, schedules the next
 *	checks, releases the leases, inserts the confirmation notices of
 *	the domains that became verified, and notifies authready_changes,
 *	in one transaction; then the local LMDB gets the same states
 *	(checker.c).
 *
 *	Notices are sent by whichever checker claims them: handed_at is
 *	recorded before the hand-off to sendmail and sent_at after it, so a
 *	crash in between resends once, with the same Message-ID.
 */
#ifndef AUTHREADY_PGCHECK_H
#define AUTHREADY_PGCHECK_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checker.h"
#include "configfile.h"
#include "pgconn.h"
#include "domain.h"
#include "dns.h"
#include "store.h"

#define PGCHECK_OWNER_MAX 256
#define PGCHECK_LEASE_SLACK_MS 5000 /* beyond twice CheckTimeout */
#define PGCHECK_NOTICE_LEASE_S 120  /* a notice's claim */
#define PGCHECK_NOTICE_RETRY_S 300  /* after a failed hand-off */
#define PGCHECK_NOTICE_BATCH 16
#define PGCHECK_LOCAL 1 /* pgcheck_round: the local store failed */
#define PGCHECK_CLAIM_KEYS                                                     \
	64 /* a claim looks at up to this many times its                       \
	      limit of keys after the cursor */

#define PGCHECK_TID_MAX 32 /* a ctid's text, "(block,line)" */

struct pgcheck_claim {
	char domain[DOMAIN_BUF];
	long long token;
	/* Its registry entry as PostgreSQL holds it (storecodec; owned,
	 * freed with free), decoded when its check starts: a decoded
	 * entry is some 5 kB, and claims are moved about. */
	unsigned char *reg_entry;
	size_t reg_len;
	/* PostgreSQL's state of the domain as the claim read it, for the
	 * write-back: its entry (NULL: none, or removed; owned, freed with
	 * free), its version (0: no row) and the authready_checks
	 * row the claim wrote (its ctid). */
	unsigned char *prior;
	size_t prior_len;
	long long prior_version;
	char tid[PGCHECK_TID_MAX];
};

struct pgcheck {
	PGconn *conn;
	const struct config *cfg;
	char owner[PGCHECK_OWNER_MAX]; /* lease_owner: host/pid */
	unsigned lease_ms;
	char cursor[DOMAIN_BUF];    /* a round's claims go on after this key */
	char start_key[DOMAIN_BUF]; /* ... from this one at first, */
	char stop[DOMAIN_BUF];      /* up to this one ("": the last key) */
	bool at_end;   /* the last claim's window hit the last key */
	size_t window; /* keys the next claim looks at (0: the most) */
	/* how long the checker waited for the background writer: for a
	 * claim made ahead, and for a flush out before it could hand in
	 * the next (milliseconds, this round; text_now_ms) */
	uint64_t waited_claim_ms, waited_write_ms;
	struct pgcheck_claim *claims; /* the claims being checked */
	size_t nclaims, claims_cap;
	size_t *index, index_len; /* hash of claims: index + 1, 0 empty */
	/* a round: its claims' parameters, the names handed to the
	 * checker, the first failure of a claim made during the run */
	bool all;
	const char *round_start;
	size_t limit;
	char (*names)[DOMAIN_BUF];
	char **name_list;
	int more_rc;
	char more_err[PGCONN_ERR_MAX];
	const struct checker_options *outer; /* the caller's callbacks */
	size_t claimed, written, dropped;    /* over the object's life */
	/* a round's background writer (pgcheck.c): its own connection,
	 * kept from round to round, closed by pgcheck_close() */
	PGconn *wconn;
	bool wprepared; /* its write-back statements prepared */
	struct pgcheck_worker *worker;
};

/* pgcheck_lease_ms - the lease of a claim: longer than a check can take
 * (twice CheckTimeout and PGCHECK_LEASE_SLACK_MS). */
unsigned pgcheck_lease_ms(unsigned check_timeout_ms);

/*
 * pgcheck_open - a checker on conn (schema checked by the caller), its
 * owner "HOST/PID".  0, or -1 with err.
 */
int pgcheck_open(struct pgcheck *pc, PGconn *conn, const struct config *cfg,
                 char *err, size_t errlen);
void pgcheck_close(struct pgcheck *pc);

/*
 * pgcheck_claim - claim at most limit domains: due ones (all false), or
 * every one not checked since round_start (all true; PostgreSQL's clock,
 * a timestamptz in text), or only domain (not NULL) whatever its
 * schedule, none held by a live lease.  The
 * claims replace pc->claims; *n of them.  A pgconn status.
 */
int pgcheck_claim(struct pgcheck *pc, bool all, const char *round_start,
                  const char *domain, size_t limit, size_t *n, char *err,
                  size_t errlen);

/*
 * pgcheck_options - inner: opt with the fleet's hooks (registry entries
 * from the claims, a name asked for outside them claimed at once, the
 * fenced write-back); opt's callbacks are called through them.  For a
 * checker_run() of names of a batch, or of take() alone.
 */
void pgcheck_options(struct pgcheck *pc, const struct checker_options *opt,
                     struct checker_options *inner);

/*
 * pgcheck_round - claim and check batches until nothing is left to
 * claim; opt is the caller's (its callbacks and arg are called as
 * usual).  stats sums the batches.  A round of more than one claim
 * runs a background writer on a second connection: it writes each
 * flush and makes the next claim while the checks go on.  A pgconn
 * status, or PGCHECK_LOCAL when the local store failed (err).
 */
int pgcheck_round(struct pgcheck *pc, struct store *st, struct dns *dns,
                  const struct checker_options *opt, bool all,
                  const char *domain, struct checker_stats *stats, char *err,
                  size_t errlen);

/*
 * pgcheck_flush - checker_flush_cb: the fenced write-back of a batch of
 * results in one transaction (arg is the struct pgcheck).
 */
void pgcheck_flush(void *arg, struct checker_result *res, size_t n);

/*
 * pgcheck_notices - claim unsent notices and hand them to sendmail_cmd;
 * *sent and *failed count them.  A pgconn status.
 */
int pgcheck_notices(struct pgcheck *pc, const char *sendmail_cmd, size_t *sent,
                    size_t *failed, char *err, size_t errlen);

#endif
