/*
 * pgcheck.c - refreshes shared by a fleet's checkers; see pgcheck.h.
 *
 * SYNOPSIS
 *	unsigned pgcheck_lease_ms(check_timeout_ms);
 *	int pgcheck_open(pc, conn, cfg, err, errlen);
 *	int pgcheck_claim(pc, all, round_start, domain, limit, n, err,
 *	    errlen);
 *	int pgcheck_round(pc, st, dns, opt, all, domain, stats, err,
 *	    errlen);
 *	int pgcheck_apply(arg, domain, contact, rep, next, fx, err, errlen);
 *	int pgcheck_notices(pc, sendmail_cmd, sent, failed, err, errlen);
 *
 * DESCRIPTION
 *	A round first gives every registered domain a row in
 *	authready_checks (due at once), then claims batches of at most the
 *	checker's window: one UPDATE over a SELECT ... FOR UPDATE SKIP
 *	LOCKED of rows whose lease is free or ran out, committed before any
 *	DNS work.  A claim takes a new lease_token from a sequence.  The
 *	write-back (pgcheck_apply) releases the lease only WHERE lease_token
 *	is its own and the domain is still registered; 0 rows means another
 *	checker holds the domain now (or it was removed meanwhile), and the
 *	result is dropped (logged event=fleet-dropped).  A due round
 *	never checks a domain twice: a written-back domain is due again
 *	only after its next_check; an --all round claims only domains not
 *	checked since it began.
 *
 *	The state transition is made inside the write-back transaction
 *	from PostgreSQL's state (the row locked), not from the local LMDB,
 *	which may lag.  A transition that asks for the confirmation mail
 *	inserts its notice (the whole message, with its Message-ID) and
 *	marks the state notified in the same transaction.
 *
 * DIAGNOSTICS
 *	pgconn statuses with a message in err.  Each check is logged as
 *	event=fleet-check (domain, owner, token), each written result as
 *	event=fleet-write, each dropped one as event=fleet-dropped, each
 *	notice handed to sendmail as event=fleet-notice.
 */
#include "pgcheck.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "errbuf.h"
#include "log.h"
#include "notify.h"
#include "pgconn.h"
#include "pgreg.h"
#include "state.h"
#include "storecodec.h"

#define PGCHECK_STR_(x) #x
#define PGCHECK_STR(x) PGCHECK_STR_(x)

unsigned
pgcheck_lease_ms(unsigned check_timeout_ms)
{
	unsigned long long ms =
	    2ULL * check_timeout_ms + PGCHECK_LEASE_SLACK_MS;

	return ms > 86400000ULL ? 86400000U : (unsigned)ms;
}

int
pgcheck_open(struct pgcheck *pc, PGconn *conn, const struct config *cfg,
             char *err, size_t errlen)
{
	char host[200];

	memset(pc, 0, sizeof(*pc));
	if (pgconn_host_name(cfg, host, sizeof(host), err, errlen) != 0)
		return -1;
	pc->conn = conn;
	pc->cfg = cfg;
	snprintf(pc->owner, sizeof(pc->owner), "%s/%ld", host, (long)getpid());
	pc->lease_ms = pgcheck_lease_ms(cfg->check_timeout_ms);
	return 0;
}

void
pgcheck_close(struct pgcheck *pc)
{
	free(pc->claims);
	pc->claims = NULL;
	pc->nclaims = pc->claims_cap = 0;
}

/* pgcheck_seed - a row in authready_checks for every registered domain. */
static int
pgcheck_seed(struct pgcheck *pc, char *err, size_t errlen)
{
	return pgconn_exec(pc->conn, "listing the domains to check",
	                   "INSERT INTO authready_checks (domain) "
	                   "SELECT r.domain FROM authready_registry r "
	                   "WHERE NOT r.deleted AND NOT EXISTS (SELECT 1 "
	                   "FROM authready_checks c WHERE c.domain = r.domain) "
	                   "ON CONFLICT (domain) DO NOTHING",
	                   0, NULL, NULL, NULL, NULL, err, errlen);
}

/* pgcheck_claims_grow - room for n claims. */
static int
pgcheck_claims_grow(struct pgcheck *pc, size_t n, char *err, size_t errlen)
{
	struct pgcheck_claim *grown;

	if (n <= pc->claims_cap)
		return PGCONN_OK;
	if ((grown = realloc(pc->claims, n * sizeof(*grown))) == NULL)
		return errbuf_code(err, errlen, PGCONN_FAILED,
		                   "out of memory for %zu claims", n);
	pc->claims = grown;
	pc->claims_cap = n;
	return PGCONN_OK;
}

/* pgcheck_claim_into - pgcheck_claim(), the claims appended to the batch
 * (append) or replacing it. */
static int
pgcheck_claim_into(struct pgcheck *pc, bool all, const char *round_start,
                   const char *domain, size_t limit, bool append, size_t *n,
                   char *err, size_t errlen)
{
	char lease[32], lim[32], why[256];
	const char *values[6];
	PGresult *res;
	int rc, i, rows;

	*n = 0;
	if (!append)
		pc->nclaims = 0;
	snprintf(lease, sizeof(lease), "%u", pc->lease_ms);
	snprintf(lim, sizeof(lim), "%zu", limit);
	values[0] = pc->owner;
	values[1] = lease;
	values[2] = all ? "t" : "f";
	values[3] = round_start;
	values[4] = domain;
	values[5] = lim;
	rc = pgconn_exec(
	    pc->conn, "claiming domains",
	    "UPDATE authready_checks c SET lease_owner = $1, "
	    "lease_until = now() + make_interval(secs => $2::bigint / 1000.0), "
	    "lease_token = nextval('authready_lease_token') "
	    "FROM (SELECT k.domain FROM authready_checks k "
	    "JOIN authready_registry r ON r.domain = k.domain AND NOT "
	    "r.deleted "
	    "WHERE (k.lease_until IS NULL OR k.lease_until < now()) "
	    "AND ($5::text IS NOT NULL OR k.next_check <= now() OR "
	    "($3::boolean AND (k.checked IS NULL "
	    "OR k.checked < $4::timestamptz))) "
	    "AND ($5::text IS NULL OR k.domain = $5::text) "
	    "ORDER BY k.next_check LIMIT $6::bigint "
	    "FOR UPDATE OF k SKIP LOCKED) d "
	    "WHERE c.domain = d.domain "
	    "RETURNING c.domain, c.lease_token, (SELECT r.entry FROM "
	    "authready_registry r WHERE r.domain = c.domain)",
	    6, values, NULL, NULL, &res, err, errlen);
	if (rc != PGCONN_OK)
		return rc;
	rows = PQntuples(res);
	if ((rc = pgcheck_claims_grow(pc, pc->nclaims + (size_t)rows, err,
	                              errlen)) != PGCONN_OK) {
		PQclear(res);
		return rc;
	}
	for (i = 0; i < rows; i++) {
		struct pgcheck_claim *cl = &pc->claims[pc->nclaims];
		size_t len = 0;
		unsigned char *bytes = PQunescapeBytea(
		    (const unsigned char *)PQgetvalue(res, i, 2), &len);

		memset(cl, 0, sizeof(*cl));
		snprintf(cl->domain, sizeof(cl->domain), "%s",
		         PQgetvalue(res, i, 0));
		cl->token = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		cl->has_reg = bytes != NULL && len > 0 &&
		              storecodec_reg_decode(bytes, len, &cl->reg, why,
		                                    sizeof(why)) == 0;
		PQfreemem(bytes);
		pc->nclaims++;
	}
	PQclear(res);
	pc->claimed += (size_t)rows;
	*n = (size_t)rows;
	return PGCONN_OK;
}

int
pgcheck_claim(struct pgcheck *pc, bool all, const char *round_start,
              const char *domain, size_t limit, size_t *n, char *err,
              size_t errlen)
{
	return pgcheck_claim_into(pc, all, round_start, domain, limit, false, n,
	                          err, errlen);
}

/* pgcheck_claim_now - a name asked for outside the batch (a MAIL FROM
 * waits for it): claimed now when it is registered and free; else a
 * claim without a lease (token 0) when PostgreSQL does not register it,
 * so its check stays local.  NULL when another checker holds it or
 * PostgreSQL failed (err). */
static struct pgcheck_claim *
pgcheck_claim_now(struct pgcheck *pc, const char *name, char *err,
                  size_t errlen)
{
	const char *values[1] = {name};
	struct pgcheck_claim *cl;
	PGresult *res;
	size_t n;
	int rc, registered;

	(void)pgcheck_seed(pc, err, errlen);
	if (pgcheck_claim_into(pc, false, NULL, name, 1, true, &n, err,
	                       errlen) != PGCONN_OK)
		return NULL;
	if (n == 1)
		return &pc->claims[pc->nclaims - 1];
	rc = pgconn_exec(pc->conn, "looking up the registry",
	                 "SELECT 1 FROM authready_registry WHERE domain = $1 "
	                 "AND NOT deleted",
	                 1, values, NULL, NULL, &res, err, errlen);
	if (rc != PGCONN_OK)
		return NULL;
	registered = PQntuples(res) > 0;
	PQclear(res);
	if (registered) {
		snprintf(err, errlen,
		         "%s: another checker holds it now; its result comes "
		         "through PostgreSQL",
		         name);
		return NULL;
	}
	if (pgcheck_claims_grow(pc, pc->nclaims + 1, err, errlen) != PGCONN_OK)
		return NULL;
	cl = &pc->claims[pc->nclaims++];
	memset(cl, 0, sizeof(*cl));
	snprintf(cl->domain, sizeof(cl->domain), "%s", name);
	return cl;
}

/* pgcheck_find - the claim of domain in the batch; NULL: none. */
static struct pgcheck_claim *
pgcheck_find(struct pgcheck *pc, const char *domain)
{
	size_t i;

	for (i = 0; i < pc->nclaims; i++)
		if (strcmp(pc->claims[i].domain, domain) == 0)
			return &pc->claims[i];
	return NULL;
}

/* pgcheck_reg - checker_reg_cb: the entry read with the claim. */
static int
pgcheck_reg(void *arg, const char *name, struct domain_reg *reg, char *err,
            size_t errlen)
{
	struct pgcheck_claim *cl = pgcheck_find(arg, name);
	struct log_line line;

	if (cl == NULL &&
	    (cl = pgcheck_claim_now(arg, name, err, errlen)) == NULL)
		return STORE_ERROR;
	if (!cl->has_reg) {
		snprintf(err, errlen, "%s: no registry entry in PostgreSQL",
		         name);
		return STORE_NOTFOUND;
	}
	*reg = cl->reg;
	log_line_init(&line);
	log_field_text(&line, "event", "fleet-check");
	log_field(&line, "domain", name);
	log_field(&line, "owner", ((struct pgcheck *)arg)->owner);
	log_emit(LOG_INFO, &line);
	return STORE_OK;
}

/* pgcheck_dropped - the result of a lost lease: logged, not written. */
static int
pgcheck_dropped(struct pgcheck *pc, const char *domain, char *err,
                size_t errlen)
{
	struct log_line line;

	pc->dropped++;
	log_line_init(&line);
	log_field_text(&line, "event", "fleet-dropped");
	log_field(&line, "domain", domain);
	log_field(&line, "owner", pc->owner);
	log_emit(LOG_WARNING, &line);
	snprintf(err, errlen,
	         "the lease ran out and another checker holds it, or the "
	         "domain was removed: result dropped");
	return CHECKER_DROPPED;
}

/* pgcheck_current - PostgreSQL's state of domain (row locked), or an
 * unknown one. */
static int
pgcheck_current(struct pgcheck *pc, const char *domain,
                struct domain_state *cur, char *err, size_t errlen)
{
	const char *values[1] = {domain};
	unsigned char *bytes;
	char why[256];
	PGresult *res;
	size_t len = 0;
	int rc;

	memset(cur, 0, sizeof(*cur));
	snprintf(cur->domain, sizeof(cur->domain), "%s", domain);
	rc = pgconn_exec(pc->conn, "reading the state",
	                 "SELECT entry FROM authready_state WHERE domain = $1 "
	                 "AND NOT deleted FOR UPDATE",
	                 1, values, NULL, NULL, &res, err, errlen);
	if (rc != PGCONN_OK)
		return rc;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
		bytes = PQunescapeBytea(
		    (const unsigned char *)PQgetvalue(res, 0, 0), &len);
		if (bytes == NULL ||
		    storecodec_state_decode(bytes, len, cur, why,
		                            sizeof(why)) != 0) {
			/* A corrupt state starts again from unknown. */
			memset(cur, 0, sizeof(*cur));
			snprintf(cur->domain, sizeof(cur->domain), "%s",
			         domain);
		}
		PQfreemem(bytes);
	}
	PQclear(res);
	return PGCONN_OK;
}

/* pgcheck_from - NotifyFrom, or postmaster@ this host. */
static void
pgcheck_from(const struct config *cfg, char *from, size_t len)
{
	char host[200];

	if (cfg->notify_from[0] != '\0') {
		snprintf(from, len, "%s", cfg->notify_from);
		return;
	}
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(from, len, "postmaster@%s", host);
}

/* pgcheck_notice - insert the confirmation notice of next (verified at
 * version) and mark it notified; a message that cannot be composed is
 * left to no one (as the single-host path: an unsafe address). */
static int
pgcheck_notice(struct pgcheck *pc, struct domain_state *next,
               const char *contact, int64_t version, int64_t now, char *err,
               size_t errlen)
{
	char from[CONFIG_ADDRESS_MAX], id[512], vtext[32];
	char msg[NOTIFY_MESSAGE_MAX];
	const char *values[4];
	int len, rc;

	pgcheck_from(pc->cfg, from, sizeof(from));
	if (notify_message_id(next->domain, (long long)version, from, id,
	                      sizeof(id)) != 0)
		return PGCONN_OK;
	len = notify_compose_id(next, contact, from, (time_t)now, id, msg,
	                        sizeof(msg));
	if (len <= 0)
		return PGCONN_OK;
	snprintf(vtext, sizeof(vtext), "%" PRId64, version);
	values[0] = next->domain;
	values[1] = vtext;
	values[2] = id;
	values[3] = msg;
	rc = pgconn_exec(pc->conn, "writing the notice",
	                 "INSERT INTO authready_notices "
	                 "(domain, verified_version, message_id, message) "
	                 "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
	                 4, values, NULL, NULL, NULL, err, errlen);
	if (rc == PGCONN_OK)
		state_mark_notified(next);
	return rc;
}

/* pgcheck_put_state - upsert next at version. */
static int
pgcheck_put_state(struct pgcheck *pc, const struct domain_state *next,
                  int64_t version, char *err, size_t errlen)
{
	unsigned char buf[STORECODEC_STATE_MAX];
	char vtext[32], why[256];
	const char *values[4];
	int lengths[4] = {0, 0, 0, 0}, binary[4] = {0, 1, 0, 0};
	size_t len;

	if (storecodec_state_encode(next, buf, sizeof(buf), &len, why,
	                            sizeof(why)) != 0)
		return errbuf_code(err, errlen, PGCONN_FAILED, "%s: %s",
		                   next->domain, why);
	snprintf(vtext, sizeof(vtext), "%" PRId64, version);
	values[0] = next->domain;
	values[1] = (const char *)buf;
	lengths[1] = (int)len;
	values[2] = state_readiness_name((enum domain_readiness)next->state);
	values[3] = vtext;
	return pgconn_exec(pc->conn, "writing the state",
	                   "INSERT INTO authready_state "
	                   "(domain, entry, readiness, version, deleted) "
	                   "VALUES ($1, $2, $3, $4, false) "
	                   "ON CONFLICT (domain) DO UPDATE SET "
	                   "entry = EXCLUDED.entry, "
	                   "readiness = EXCLUDED.readiness, "
	                   "version = EXCLUDED.version, deleted = false",
	                   4, values, lengths, binary, NULL, err, errlen);
}

/* pgcheck_release - release the lease if it is still token's and the
 * domain still registered, with the next check at next_check; 1 when it
 * was, 0 when it was lost (or the domain removed meanwhile: its
 * tombstone stays). */
static int
pgcheck_release(struct pgcheck *pc, long long token, const char *domain,
                int64_t next_check, char *err, size_t errlen)
{
	char ttext[32], ntext[32];
	const char *values[3] = {domain, ttext, ntext};
	PGresult *res;
	int rc, n;

	snprintf(ttext, sizeof(ttext), "%lld", token);
	snprintf(ntext, sizeof(ntext), "%" PRId64,
	         next_check > 0 ? next_check : 0);
	rc = pgconn_exec(pc->conn, "releasing the lease",
	                 "UPDATE authready_checks SET lease_owner = NULL, "
	                 "lease_until = NULL, lease_token = NULL, "
	                 "checked = now(), "
	                 "next_check = to_timestamp($3::bigint) "
	                 "WHERE domain = $1 AND lease_token = $2::bigint "
	                 "AND EXISTS (SELECT 1 FROM authready_registry r "
	                 "WHERE r.domain = $1 AND NOT r.deleted)",
	                 3, values, NULL, NULL, &res, err, errlen);
	if (rc != PGCONN_OK)
		return rc;
	n = atoi(PQcmdTuples(res));
	PQclear(res);
	return n == 1 ? 1 : 0;
}

int
pgcheck_apply(void *arg, const char *domain, const char *contact,
              const struct report *rep, struct domain_state *next,
              struct state_effects *fx, char *err, size_t errlen)
{
	struct pgcheck *pc = arg;
	const struct checker_options *opt = pc->outer;
	struct pgcheck_claim *cl = pgcheck_find(pc, domain);
	struct domain_state cur;
	struct log_line line;
	char vtext[32];
	int64_t version;
	PGresult *res;
	int rc;

	if (cl == NULL)
		return pgcheck_dropped(pc, domain, err, errlen);
	if (cl->token == 0)
		return CHECKER_LOCAL; /* not PostgreSQL's: unregistered */
	if ((rc = pgconn_exec(pc->conn, "BEGIN", "BEGIN", 0, NULL, NULL, NULL,
	                      NULL, err, errlen)) != PGCONN_OK)
		return -1;
	/* The state row locked, the transition made, then the fence:
	 * nothing is written unless the lease is still ours. */
	if ((rc = pgcheck_current(pc, domain, &cur, err, errlen)) != PGCONN_OK)
		goto fail;
	state_apply(&cur, rep, opt->now, &opt->timing, next, fx);
	rc = pgcheck_release(pc, cl->token, domain, next->next_check, err,
	                     errlen);
	if (rc == 0) {
		pgconn_rollback(pc->conn);
		return pgcheck_dropped(pc, domain, err, errlen);
	}
	if (rc != 1)
		goto fail;
	rc = pgconn_exec(pc->conn, "taking a version",
	                 "UPDATE authready_clock SET version = version + 1 "
	                 "WHERE id = 1 RETURNING version",
	                 0, NULL, NULL, NULL, &res, err, errlen);
	if (rc != PGCONN_OK)
		goto fail;
	version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (fx->send_confirmation && contact[0] != '\0' &&
	    (rc = pgcheck_notice(pc, next, contact, version, opt->now, err,
	                         errlen)) != PGCONN_OK)
		goto fail;
	if ((rc = pgcheck_put_state(pc, next, version, err, errlen)) !=
	    PGCONN_OK)
		goto fail;
	snprintf(vtext, sizeof(vtext), "%" PRId64, version);
	{
		const char *values[1] = {vtext};

		rc = pgconn_exec(pc->conn, "notifying the replicas",
		                 "SELECT pg_notify('authready_changes', $1)", 1,
		                 values, NULL, NULL, NULL, err, errlen);
	}
	if (rc != PGCONN_OK ||
	    (rc = pgconn_commit(pc->conn, err, errlen)) != PGCONN_OK)
		goto fail;
	pc->written++;
	cl->token = -1; /* written: a second result would be dropped */
	log_line_init(&line);
	log_field_text(&line, "event", "fleet-write");
	log_field(&line, "domain", domain);
	log_field_text(
	    &line, "state",
	    state_readiness_name((enum domain_readiness)next->state));
	log_field_text(&line, "version", vtext);
	log_emit(LOG_INFO, &line);
	return 0;
fail:
	pgconn_rollback(pc->conn);
	return -1;
}

/* pgcheck_event - the caller's on_event. */
static void
pgcheck_event(void *arg, const struct domain_state *st,
              const struct state_effects *fx, const struct report *rep)
{
	const struct checker_options *o = ((struct pgcheck *)arg)->outer;

	if (o->on_event)
		o->on_event(o->arg, st, fx, rep);
}

/* pgcheck_stored - the caller's on_stored. */
static void
pgcheck_stored(void *arg, const char *domain, const struct state_effects *fx,
               const char *err)
{
	const struct checker_options *o = ((struct pgcheck *)arg)->outer;

	if (o->on_stored)
		o->on_stored(o->arg, domain, fx, err);
}

/* pgcheck_take - the caller's take. */
static bool
pgcheck_take(void *arg, char *name, size_t namelen, bool *unregistered)
{
	const struct checker_options *o = ((struct pgcheck *)arg)->outer;

	return o->take(o->arg, name, namelen, unregistered);
}

/* pgcheck_commit - the caller's on_commit. */
static void
pgcheck_commit(void *arg)
{
	const struct checker_options *o = ((struct pgcheck *)arg)->outer;

	if (o->on_commit)
		o->on_commit(o->arg);
}

/* pgcheck_sum - add a batch's counts to the round's. */
static void
pgcheck_sum(struct checker_stats *sum, const struct checker_stats *b)
{
	size_t i;

	sum->total += b->total;
	sum->done += b->done;
	for (i = 0; i <= READINESS_FAILED; i++)
		sum->by_state[i] += b->by_state[i];
	sum->changed += b->changed;
	sum->notified += b->notified;
	sum->notify_failed += b->notify_failed;
	sum->errors += b->errors;
	sum->unstored += b->unstored;
	sum->dropped += b->dropped;
}

void
pgcheck_options(struct pgcheck *pc, const struct checker_options *opt,
                struct checker_options *inner)
{
	*inner = *opt;
	pc->outer = opt;
	inner->arg = pc;
	inner->on_event = pgcheck_event;
	inner->on_stored = pgcheck_stored;
	inner->on_commit = pgcheck_commit;
	inner->take = opt->take != NULL ? pgcheck_take : NULL;
	inner->on_progress = NULL;
	inner->reg_get = pgcheck_reg;
	inner->apply = pgcheck_apply;
	inner->notify = false; /* notices go through PostgreSQL */
}

int
pgcheck_round(struct pgcheck *pc, struct store *st, struct dns *dns,
              const struct checker_options *opt, bool all, const char *domain,
              struct checker_stats *stats, char *err, size_t errlen)
{
	struct checker_options inner;
	struct checker_stats batch;
	size_t limit = opt->window ? opt->window : CHECKER_WINDOW_DEFAULT;
	char **names = NULL, (*copy)[DOMAIN_BUF], start[64];
	PGresult *res;
	size_t n, i;
	int rc;

	memset(stats, 0, sizeof(*stats));
	pgcheck_options(pc, opt, &inner);
	if ((rc = pgcheck_seed(pc, err, errlen)) != PGCONN_OK)
		return rc;
	/* The round began on PostgreSQL's clock, not this host's. */
	if ((rc = pgconn_exec(pc->conn, "reading the clock",
	                      "SELECT now()::text", 0, NULL, NULL, NULL, &res,
	                      err, errlen)) != PGCONN_OK)
		return rc;
	snprintf(start, sizeof(start), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	for (;;) {
		if ((rc = pgcheck_claim(pc, all, start, domain, limit, &n, err,
		                        errlen)) != PGCONN_OK)
			return rc;
		if (n == 0)
			break;
		/* Copies: a claim made during the run may move the batch. */
		names = calloc(n, sizeof(*names));
		copy = calloc(n, sizeof(*copy));
		if (names == NULL || copy == NULL) {
			free(names);
			free(copy);
			return errbuf_code(err, errlen, PGCONN_FAILED,
			                   "out of memory");
		}
		for (i = 0; i < n; i++) {
			memcpy(copy[i], pc->claims[i].domain, DOMAIN_BUF);
			names[i] = copy[i];
		}
		rc =
		    checker_run(st, dns, &inner, names, n, &batch, err, errlen);
		free(names);
		free(copy);
		pgcheck_sum(stats, &batch);
		if (opt->on_progress)
			opt->on_progress(opt->arg, stats->done, stats->total);
		if (rc != 0)
			return PGCHECK_LOCAL;
		if (domain != NULL)
			break;
	}
	return PGCONN_OK;
}

/* pgcheck_notice_mark - set column (handed_at or sent_at) of a notice we
 * hold; clear (a failed hand-off) releases it for a later retry. */
static int
pgcheck_notice_mark(struct pgcheck *pc, const char *domain, const char *ver,
                    const char *sql, char *err, size_t errlen)
{
	const char *values[3] = {domain, ver, pc->owner};

	return pgconn_exec(pc->conn, "marking a notice", sql, 3, values, NULL,
	                   NULL, NULL, err, errlen);
}

int
pgcheck_notices(struct pgcheck *pc, const char *sendmail_cmd, size_t *sent,
                size_t *failed, char *err, size_t errlen)
{
	char lease[32], lim[32], why[512];
	const char *values[3] = {pc->owner, lease, lim};
	struct log_line line;
	PGresult *res;
	int rc, i, rows;

	*sent = *failed = 0;
	snprintf(lease, sizeof(lease), "%d", PGCHECK_NOTICE_LEASE_S);
	snprintf(lim, sizeof(lim), "%d", PGCHECK_NOTICE_BATCH);
	for (;;) {
		rc = pgconn_exec(
		    pc->conn, "claiming notices",
		    "UPDATE authready_notices n SET claimed_by = $1, "
		    "claimed_until = now() + make_interval(secs => $2::int) "
		    "FROM (SELECT domain, verified_version FROM "
		    "authready_notices WHERE sent_at IS NULL AND "
		    "(claimed_until IS NULL OR claimed_until < now()) "
		    "ORDER BY created LIMIT $3::int FOR UPDATE SKIP LOCKED) d "
		    "WHERE n.domain = d.domain AND "
		    "n.verified_version = d.verified_version "
		    "RETURNING n.domain, n.verified_version, n.message, "
		    "n.handed_at IS NOT NULL, n.message_id",
		    3, values, NULL, NULL, &res, err, errlen);
		if (rc != PGCONN_OK)
			return rc;
		rows = PQntuples(res);
		for (i = 0; i < rows; i++) {
			const char *domain = PQgetvalue(res, i, 0);
			const char *ver = PQgetvalue(res, i, 1);
			const char *msg = PQgetvalue(res, i, 2);
			bool again = PQgetvalue(res, i, 3)[0] == 't';
			int ok;

			/* handed_at before the hand-off: a crash after it
			 * resends once (this claim), never twice. */
			if (!again &&
			    (rc = pgcheck_notice_mark(
			         pc, domain, ver,
			         "UPDATE authready_notices SET handed_at = "
			         "now() "
			         "WHERE domain = $1 AND verified_version = $2 "
			         "AND claimed_by = $3",
			         err, errlen)) != PGCONN_OK)
				break;
			ok = notify_send(sendmail_cmd, msg, strlen(msg), why,
			                 sizeof(why)) == 0;
			log_line_init(&line);
			log_field_text(&line, "event", "fleet-notice");
			log_field(&line, "domain", domain);
			log_field(&line, "message_id", PQgetvalue(res, i, 4));
			log_field_text(&line, "resend", again ? "yes" : "no");
			log_field_text(&line, "result", ok ? "sent" : "failed");
			if (!ok)
				log_field(&line, "error", why);
			log_emit(ok ? LOG_INFO : LOG_WARNING, &line);
			/* A resend is the last try: sent either way. */
			if (ok || again)
				rc = pgcheck_notice_mark(
				    pc, domain, ver,
				    "UPDATE authready_notices SET sent_at = "
				    "now(), claimed_until = NULL WHERE domain "
				    "= "
				    "$1 AND verified_version = $2 AND "
				    "claimed_by = $3",
				    err, errlen);
			else
				rc = pgcheck_notice_mark(
				    pc, domain, ver,
				    "UPDATE authready_notices SET handed_at = "
				    "NULL, claimed_until = now() + interval "
				    "'" PGCHECK_STR(
				        PGCHECK_NOTICE_RETRY_S) " s' "
				                                "WHERE domain "
				                                "= $1 AND "
				                                "verified_"
				                                "version = $2 "
				                                "AND "
				                                "claimed_by = "
				                                "$3",
				    err, errlen);
			if (rc != PGCONN_OK)
				break;
			if (ok)
				(*sent)++;
			else
				(*failed)++;
		}
		PQclear(res);
		if (rc != PGCONN_OK)
			return rc;
		if (rows < PGCHECK_NOTICE_BATCH)
			return PGCONN_OK;
	}
}
