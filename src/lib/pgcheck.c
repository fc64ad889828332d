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
 *	void pgcheck_flush(arg, res, n);
 *	int pgcheck_notices(pc, sendmail_cmd, sent, failed, err, errlen);
 *
 * DESCRIPTION
 *	Every registered domain has a row in authready_checks, inserted
 *	with its registration (due at once) and deleted with its removal
 *	(pgreg.c, schema 5).  A round claims batches of at most the
 *	checker's window: one UPDATE over a SELECT ... FOR UPDATE SKIP
 *	LOCKED of rows whose lease is free or ran out, committed before any
 *	DNS work (the writer's connection prepares it; a claim of one name
 *	asked for is a statement of its own).  A claim looks only at the
 *	next keys after a cursor (as many as the last claim needed), in
 *	primary-key order (so a round walks the index once, and no plan
 *	reads every due row), from a key at random in a big round (so that
 *	checkers started together walk apart); the whole round is one
 *	checker_run(), which asks for the next claim (pgcheck_more) while
 *	its window still runs the end of the last.  A claim takes a new
 *	lease_token from a sequence, one for its whole batch, and reads
 *	with each domain its registry entry, its state in PostgreSQL
 *	(entry and version) and the ctid of the row it leased.  The
 *	write-back (pgcheck_flush) takes the results the checker holds (a
 *	claim batch, or what finished within a second, or one a MAIL FROM
 *	waits for) in one transaction: the clock row locked first (as
 *	every writer does), then one statement writes each state from the
 *	state its claim read, where the row is still at the version read,
 *	releases each lease where its row (deleted with a removal) still
 *	holds the token, inserts the notices, sets the clock and
 *	NOTIFYs, from array parameters, and says how many states and leases
 *	it wrote: the batch takes the versions clock+1 .. clock+k (k
 *	results written), one bump of the clock row, under its lock to
 *	COMMIT, so the change stream stays gap-free and in commit order.
 *	When fewer were written than sent (something moved since the
 *	claims: a lease that ran out taken by another claim, a domain
 *	removed, or removed and registered again), the transaction is
 *	rolled back and made again after the fence, one SELECT of the
 *	authready_checks rows still holding each result's lease_token
 *	whose domain is still registered, with PostgreSQL's state of each,
 *	locked; a result whose row is not there lost its lease and is
 *	dropped (logged event=fleet-dropped), the others are written from
 *	the states the fence read.  A due round never checks a domain
 *	twice: a written-back domain is due again only after its
 *	next_check; an --all round claims only domains not checked since
 *	it began.
 *
 *	The state transition is made from PostgreSQL's state, checked
 *	inside the write-back transaction to be the one it replaces (no
 *	other writer can change it while the clock is ours), not from the
 *	local LMDB, which may lag.  A transition
 *that asks for the confirmation mail inserts its notice (the whole message,
 *with its Message-ID) and marks the state notified in the same transaction.
 *	With WebhookURL, a change of state inserts its webhook event into
 *	authready_webhook_outbox in that statement too (pgoutbox.h).
 *
 * DIAGNOSTICS
 *	pgconn statuses with a message in err.  A round with the background
 *	writer logs event=fleet-writer; one that could not open its
 *	connection event=fleet-writer-failed (it writes in turn).  Each
 *	check is logged as
 *	event=fleet-check (domain, owner, token), each written result as
 *	event=fleet-write, each dropped one as event=fleet-dropped, a
 *	write-back done again after the fence as
 *	event=fleet-lease-moved, each
 *	notice handed to sendmail as event=fleet-notice, each one whose
 *	claim ran out before its hand-off (another sender has it) as
 *	event=fleet-notice-lost.
 */
#include "pgcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "errbuf.h"
#include "log.h"
#include "notify.h"
#include "outbox.h"
#include "pgconn.h"
#include "pgreg.h"
#include "state.h"
#include "storecodec.h"
#include "text.h"

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

/* pgcheck_claims_free - what claims v[0..n) own (the states they
 * carry), before they are forgotten. */
static void
pgcheck_claims_free(struct pgcheck_claim *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].prior);
		v[i].prior = NULL;
		free(v[i].reg_entry);
		v[i].reg_entry = NULL;
	}
}

void
pgcheck_close(struct pgcheck *pc)
{
	if (pc->wconn != NULL)
		PQfinish(pc->wconn);
	pc->wconn = NULL;
	pgcheck_claims_free(pc->claims, pc->nclaims);
	free(pc->claims);
	free(pc->index);
	free(pc->names);
	free(pc->name_list);
	pc->claims = NULL;
	pc->index = NULL;
	pc->names = NULL;
	pc->name_list = NULL;
	pc->nclaims = pc->claims_cap = pc->index_len = 0;
}

/* pgcheck_hash - FNV-1a of a name. */
static size_t
pgcheck_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

/* pgcheck_index - the claims' hash index, made anew (out of memory: no
 * index, lookups scan the claims). */
static void
pgcheck_index(struct pgcheck *pc)
{
	size_t cap = 64, i, h;
	size_t *grown;

	while (cap < 2 * pc->nclaims)
		cap *= 2;
	if (cap > pc->index_len) {
		if ((grown = realloc(pc->index, cap * sizeof(*grown))) ==
		    NULL) {
			pc->index_len = 0;
			return;
		}
		pc->index = grown;
	}
	pc->index_len = cap;
	memset(pc->index, 0, cap * sizeof(*pc->index));
	for (i = 0; i < pc->nclaims; i++) {
		h = pgcheck_hash(pc->claims[i].domain) & (cap - 1);
		while (pc->index[h] != 0)
			h = (h + 1) & (cap - 1);
		pc->index[h] = i + 1;
	}
}

/* pgcheck_compact - drop the claims whose result came back (written, or
 * dropped with a lost lease): the rest are in flight or held. */
static void
pgcheck_compact(struct pgcheck *pc)
{
	size_t i, j = 0;

	for (i = 0; i < pc->nclaims; i++)
		if (pc->claims[i].token != -1) {
			if (i != j)
				pc->claims[j] = pc->claims[i];
			j++;
		} else
			pgcheck_claims_free(&pc->claims[i], 1);
	pc->nclaims = j;
	pgcheck_index(pc);
}

/* pgcheck_bin_int - a bigint column of a claim's binary row (8 bytes,
 * network order); 0 when NULL or not 8 bytes. */
static long long
pgcheck_bin_int(const PGresult *res, int row, int col)
{
	const unsigned char *b =
	    (const unsigned char *)PQgetvalue(res, row, col);
	unsigned long long u = 0;
	int i;

	if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 8)
		return 0;
	for (i = 0; i < 8; i++)
		u = u << 8 | b[i];
	return (long long)u;
}

/* pgcheck_bin_tid - a tid column of a claim's binary row (a 4-byte
 * block and a 2-byte item, network order) as its text, "(block,item)";
 * "(0,0)" (no row) when NULL or not 6 bytes. */
static void
pgcheck_bin_tid(const PGresult *res, int row, int col, char *out, size_t outlen)
{
	const unsigned char *b =
	    (const unsigned char *)PQgetvalue(res, row, col);
	unsigned long block = 0, item = 0;

	if (!PQgetisnull(res, row, col) && PQgetlength(res, row, col) == 6) {
		block = (unsigned long)b[0] << 24 | (unsigned long)b[1] << 16 |
		        (unsigned long)b[2] << 8 | b[3];
		item = (unsigned long)b[4] << 8 | b[5];
	}
	snprintf(out, outlen, "(%lu,%lu)", block, item);
}

/* pgcheck_claims_grow - room for n claims in *v (capacity *cap). */
static int
pgcheck_claims_grow(struct pgcheck_claim **v, size_t *cap, size_t n, char *err,
                    size_t errlen)
{
	struct pgcheck_claim *grown;

	if (n <= *cap)
		return PGCONN_OK;
	if ((grown = realloc(*v, n * sizeof(*grown))) == NULL)
		return errbuf_code(err, errlen, PGCONN_FAILED,
		                   "out of memory for %zu claims", n);
	*v = grown;
	*cap = n;
	return PGCONN_OK;
}

/* Both claims: the rows d (by ctid) whose lease is free or ran out
 * (each is a registered domain's: the registry's writes insert and
 * delete them, schema 5), narrowed by what follows ... */
#define PGCHECK_SQL_CLAIMABLE                                                  \
	"d AS (SELECT k.ctid AS t FROM authready_checks k "                    \
	"WHERE (k.lease_until IS NULL OR k.lease_until < now()) "

/* ... locked (SKIP LOCKED: another checker's claim in progress is
 * passed over) and leased to $1 for $2 ms under one new token (by the
 * locked rows' ctids: a TID scan, not a scan of the table to join
 * them); each claimed name, its token, its registry entry, its state
 * (s, joined by each claim: the entry, none when removed, and the
 * version the write-back expects to find) and the ctid of the row the
 * lease went to, then the claim's own columns.  The state is looked up
 * by its key, a claimed row at a time (the LIMIT keeps the planner
 * from making it a join: with the table's statistics of a new
 * database, it hashed every state for each claim). */
#define PGCHECK_SQL_LEASE                                                      \
	"FOR UPDATE OF k SKIP LOCKED), "                                       \
	"u AS (UPDATE authready_checks c SET lease_owner = $1, "               \
	"lease_until = now() + make_interval(secs => $2::bigint / 1000.0), "   \
	"lease_token = (SELECT nextval('authready_lease_token')) "             \
	"WHERE c.ctid = ANY(ARRAY(SELECT t FROM d)) "                          \
	"RETURNING c.domain, c.lease_token, c.ctid) "                          \
	"SELECT u.domain, u.lease_token, (SELECT r.entry FROM "                \
	"authready_registry r WHERE r.domain = u.domain), "                    \
	"CASE WHEN s.deleted THEN NULL ELSE s.entry END, s.version, u.ctid, "
#define PGCHECK_SQL_CLAIM_STATE                                                \
	"u LEFT JOIN LATERAL (SELECT s.entry, s.version, s.deleted FROM "      \
	"authready_state s WHERE s.domain = u.domain LIMIT 1) s ON true"
enum { /* a claim's columns */
       PGCHECK_CL_DOMAIN,
       PGCHECK_CL_TOKEN,
       PGCHECK_CL_REG,
       PGCHECK_CL_STATE,
       PGCHECK_CL_VERSION,
       PGCHECK_CL_TID,
       PGCHECK_CL_LAST, /* a round's: the last key claimed, */
       PGCHECK_CL_HI,   /* the window's last key */
       PGCHECK_CL_KEYS  /* and its keys */
};

/* A round's claim: the next keys after the cursor ($6), in key order
 * (the primary key's index, whatever the planner thinks of the rest),
 * none past $8 (the key a wrapped round started from; NULL: no end but
 * the last key; a filter over the ordered scan, as a bound of the scan
 * it made the planner sort every key up to it): a claim looks at no
 * more rows than these ($7 of them), and a round walks the index once,
 * not again over what it wrote back.  Of those, at most
 * $5 due (or, for an --all round ($3), not checked since it began at
 * $4), claimed as above; and the window's last key and size, where the
 * cursor goes next.  Unlike the
 * claim of a name, it has no branch on whether a name was given, so
 * the writer's connection prepares it (a generic plan). */
#define PGCHECK_SQL_CLAIM_ROUND                                                \
	"WITH w AS (SELECT domain FROM (SELECT domain FROM authready_checks "  \
	"WHERE domain > $6::text ORDER BY domain LIMIT $7::bigint) x "         \
	"WHERE $8::text IS NULL OR domain <= $8::text), "                      \
	"h AS (SELECT max(domain) AS hi, count(*) AS n FROM "                  \
	"w), " PGCHECK_SQL_CLAIMABLE                                           \
	"AND (k.next_check <= now() OR ($3::boolean AND (k.checked IS NULL "   \
	"OR k.checked < $4::timestamptz))) "                                   \
	"AND k.domain > $6::text AND k.domain <= (SELECT hi FROM h) "          \
	"ORDER BY k.domain LIMIT $5::bigint " PGCHECK_SQL_LEASE                \
	"max(u.domain) OVER (), h.hi, h.n FROM h LEFT JOIN "                   \
	"(" PGCHECK_SQL_CLAIM_STATE ") ON true"

/* A claim of one name ($3, asked for outside the round: a MAIL FROM
 * waits for it), whatever the cursor, leased as a round's ($1, $2);
 * the result's columns as the round's, with no window. */
#define PGCHECK_SQL_CLAIM_NAME                                                 \
	"WITH " PGCHECK_SQL_CLAIMABLE                                          \
	"AND k.domain = $3::text " PGCHECK_SQL_LEASE                           \
	"NULL::text, NULL::text, 0::bigint FROM " PGCHECK_SQL_CLAIM_STATE

/* A round's start: PostgreSQL's clock, and (for a round of claims, $1
 * true) the first key at or after a page of authready_checks picked at
 * random when the table has more than one page (NULL: from the first
 * key).  A TID range scan: no count, no walk of the index to get
 * there; the key is as random as the rows' places in the heap. */
#define PGCHECK_SQL_ROUND_START                                                \
	"WITH p AS (SELECT pg_relation_size('authready_checks') / "            \
	"current_setting('block_size')::bigint AS pages) "                     \
	"SELECT now()::text, CASE WHEN $1::boolean AND (SELECT pages FROM p) " \
	"> 1 THEN (SELECT domain FROM authready_checks WHERE ctid >= "         \
	"(SELECT format('(%s,0)', floor(random() * pages)::bigint)::tid "      \
	"FROM p) LIMIT 1) END"

/* pgcheck_window - the keys a round's claim of limit looks at: the
 * last claim's figure, between limit and PGCHECK_CLAIM_KEYS times it;
 * four times the limit at a round's first claim (want 0). */
static size_t
pgcheck_window(size_t want, size_t limit)
{
	size_t most = PGCHECK_CLAIM_KEYS * limit;

	if (want == 0)
		return 4 * limit;
	if (want > most)
		return most;
	return want < limit ? limit : want;
}

/* pgcheck_window_next - the window after a claim of limit that took
 * claimed of window keys: a quarter over the limit after a full claim
 * (the next keys are likely due too), twice as many keys after one
 * that came short, eight times as many after one that found nothing.
 * A due key in the window costs PostgreSQL its row's read and a sort
 * place whether it is claimed or not (in a full refresh of 100,000
 * domains, with the registry joined as until schema 5, a window five
 * times the limit took 14.6 us a claimed row, one the limit's size
 * 8.1); a key not due only its filter (0.5 us: the end of
 * a round, which walks every key once more, in a dozen claims). */
static size_t
pgcheck_window_next(size_t claimed, size_t window, size_t limit)
{
	if (claimed == limit)
		return limit + limit / 4;
	return claimed == 0 ? 8 * window : 2 * window;
}

/* pgcheck_wrap - a round's walk at the end of the keys: on from the
 * first, up to the key it started from (the keys after it were walked
 * first), the window a batch's worth again (those keys are likely
 * due). */
static void
pgcheck_wrap(struct pgcheck *pc)
{
	pc->cursor[0] = '\0';
	memcpy(pc->stop, pc->start_key, sizeof(pc->stop));
	pc->window = pc->limit + pc->limit / 4;
}

/* pgcheck_park - a claimed row of authready_checks whose domain is not
 * registered (row i of a claim's res): a row that should not be there
 * (schema 5 keeps one for each registered domain and no other; a
 * hand-made change, or a race of an older authready), let go and never
 * due, where its lease is still this claim's and the domain still not
 * registered.  A registration of the domain makes it due again
 * (pgreg_put).  Not checked: a result would write a live state over
 * the removal's tombstone. */
static void
pgcheck_park(struct pgcheck *pc, PGconn *conn, const PGresult *res, int i)
{
	char tid[PGCHECK_TID_MAX], token[32], err[PGCONN_ERR_MAX];
	const char *values[2] = {tid, token};
	struct log_line line;

	pgcheck_bin_tid(res, i, PGCHECK_CL_TID, tid, sizeof(tid));
	snprintf(token, sizeof(token), "%lld",
	         pgcheck_bin_int(res, i, PGCHECK_CL_TOKEN));
	log_line_init(&line);
	log_field_text(&line, "event", "fleet-unregistered-row");
	log_field(&line, "domain", PQgetvalue(res, i, PGCHECK_CL_DOMAIN));
	log_field(&line, "owner", pc->owner);
	if (pgconn_exec(conn, "letting go of an unregistered domain's row",
	                "UPDATE authready_checks c SET lease_owner = NULL, "
	                "lease_until = NULL, lease_token = NULL, "
	                "next_check = 'infinity' WHERE c.ctid = $1::tid AND "
	                "c.lease_token = $2::bigint AND NOT EXISTS (SELECT 1 "
	                "FROM authready_registry r WHERE r.domain = c.domain "
	                "AND NOT r.deleted)",
	                2, values, NULL, NULL, NULL, err,
	                sizeof(err)) != PGCONN_OK)
		log_field(&line, "error", err); /* its lease runs out */
	log_emit(LOG_WARNING, &line);
}

/* pgcheck_claim_rows - the claim on conn, appended to (*v, *nv, *cap);
 * a round's claim (domain NULL) moves the cursor on. */
static int
pgcheck_claim_rows(struct pgcheck *pc, PGconn *conn, bool all,
                   const char *round_start, const char *domain, size_t limit,
                   struct pgcheck_claim **v, size_t *nv, size_t *cap, size_t *n,
                   char *err, size_t errlen)
{
	char lease[32], lim[32], keys[32];
	const char *values[8];
	PGresult *res;
	size_t claimed = 0, window = 0;
	int rc, i, rows;

	*n = 0;
	/* A claim made ahead waits for the last one to be all started
	 * (within CheckTimeout): its lease is that much longer. */
	snprintf(lease, sizeof(lease), "%llu",
	         (unsigned long long)pc->lease_ms +
	             (conn == pc->wconn ? pc->cfg->check_timeout_ms : 0));
	values[0] = pc->owner;
	values[1] = lease;
	if (domain != NULL) {
		/* a name asked for is claimed whatever the cursor (the
		 * round's stays where it is) */
		values[2] = domain;
		rc = pgconn_exec_rows(conn, "claiming a domain", NULL,
		                      PGCHECK_SQL_CLAIM_NAME, 3, values, &res,
		                      err, errlen);
	} else {
		values[2] = all ? "t" : "f";
		values[3] = round_start;
		snprintf(lim, sizeof(lim), "%zu", limit);
		values[4] = lim;
		values[5] = pc->cursor;
		window = pgcheck_window(pc->window, limit);
		snprintf(keys, sizeof(keys), "%zu", window);
		values[6] = keys;
		values[7] = pc->stop[0] != '\0' ? pc->stop : NULL;
		rc = pgconn_exec_rows(
		    conn, "claiming domains",
		    conn == pc->wconn && pc->wprepared ? "authready_claim"
		                                       : NULL,
		    PGCHECK_SQL_CLAIM_ROUND, 8, values, &res, err, errlen);
	}
	if (rc != PGCONN_OK)
		return rc;
	rows = PQntuples(res);
	if ((rc = pgcheck_claims_grow(v, cap, *nv + (size_t)rows, err,
	                              errlen)) != PGCONN_OK) {
		PQclear(res);
		return rc;
	}
	for (i = 0; i < rows; i++) {
		struct pgcheck_claim *cl = &(*v)[*nv];
		int len;

		if (PQgetisnull(res, i, PGCHECK_CL_DOMAIN))
			continue; /* the window's row alone: nothing claimed */
		if (PQgetisnull(res, i, PGCHECK_CL_REG)) {
			pgcheck_park(pc, conn, res, i);
			continue; /* not registered: not a claim */
		}
		memset(cl, 0, sizeof(*cl));
		snprintf(cl->domain, sizeof(cl->domain), "%s",
		         PQgetvalue(res, i, PGCHECK_CL_DOMAIN));
		cl->token = pgcheck_bin_int(res, i, PGCHECK_CL_TOKEN);
		if (cl->token <= 0) { /* a lease token is a sequence's */
			PQclear(res);
			return errbuf_code(err, errlen, PGCONN_FAILED,
			                   "claiming domains: a row of %s "
			                   "without its lease token",
			                   cl->domain);
		}
		len = PQgetlength(res, i, PGCHECK_CL_REG);
		/* reg_len without reg_entry: out of memory for it */
		cl->reg_len = len > 0 ? (size_t)len : 0;
		if (len > 0 && (cl->reg_entry = malloc((size_t)len)) != NULL)
			memcpy(cl->reg_entry,
			       PQgetvalue(res, i, PGCHECK_CL_REG), (size_t)len);
		cl->prior_version = pgcheck_bin_int(res, i, PGCHECK_CL_VERSION);
		if (!PQgetisnull(res, i, PGCHECK_CL_STATE)) {
			len = PQgetlength(res, i, PGCHECK_CL_STATE);
			if ((cl->prior = malloc(len > 0 ? (size_t)len : 1)) ==
			    NULL)
				cl->prior_version = -1; /* not kept: matches
				                         * no row */
			else {
				memcpy(cl->prior,
				       PQgetvalue(res, i, PGCHECK_CL_STATE),
				       (size_t)len);
				cl->prior_len = (size_t)len;
			}
		}
		pgcheck_bin_tid(res, i, PGCHECK_CL_TID, cl->tid,
		                sizeof(cl->tid));
		(*nv)++;
		claimed++;
	}
	/* The cursor moves on in PostgreSQL's order (its collation): past
	 * the last claim while the window may hold more, else past the
	 * window; the keys ran out when the window was short. */
	if (domain == NULL)
		pc->at_end = true;
	if (domain == NULL && rows > 0) {
		pc->at_end =
		    claimed < limit && (unsigned long long)pgcheck_bin_int(
		                           res, 0, PGCHECK_CL_KEYS) < window;
		pc->window = pgcheck_window_next(claimed, window, limit);
		if (claimed == limit && !PQgetisnull(res, 0, PGCHECK_CL_LAST))
			snprintf(pc->cursor, sizeof(pc->cursor), "%s",
			         PQgetvalue(res, 0, PGCHECK_CL_LAST));
		else if (!PQgetisnull(res, 0, PGCHECK_CL_HI))
			snprintf(pc->cursor, sizeof(pc->cursor), "%s",
			         PQgetvalue(res, 0, PGCHECK_CL_HI));
	}
	PQclear(res);
	*n = claimed;
	return PGCONN_OK;
}

/* pgcheck_claim_into - pgcheck_claim() on pc->conn, the claims appended
 * to the batch (append) or replacing it. */
static int
pgcheck_claim_into(struct pgcheck *pc, bool all, const char *round_start,
                   const char *domain, size_t limit, bool append, size_t *n,
                   char *err, size_t errlen)
{
	int rc;

	if (!append) {
		pgcheck_claims_free(pc->claims, pc->nclaims);
		pc->nclaims = 0;
	}
	rc = pgcheck_claim_rows(pc, pc->conn, all, round_start, domain, limit,
	                        &pc->claims, &pc->nclaims, &pc->claims_cap, n,
	                        err, errlen);
	pgcheck_index(pc);
	pc->claimed += *n;
	return rc;
}

int
pgcheck_claim(struct pgcheck *pc, bool all, const char *round_start,
              const char *domain, size_t limit, size_t *n, char *err,
              size_t errlen)
{
	return pgcheck_claim_into(pc, all, round_start, domain, limit, false, n,
	                          err, errlen);
}

/* pgcheck_claim_name - a claim of name alone, appended to the batch
 * (*n: 0 or 1); a registered name without its row in authready_checks
 * gets it (pgreg_check_row) and is claimed then.  *found says what
 * PostgreSQL has of it when nothing was claimed (PGREG_ROW_*). */
static int
pgcheck_claim_name(struct pgcheck *pc, const char *name, int *found, size_t *n,
                   char *err, size_t errlen)
{
	int rc;

	*found = PGREG_ROW_THERE;
	rc = pgcheck_claim_into(pc, false, NULL, name, 1, true, n, err, errlen);
	if (rc != PGCONN_OK || *n > 0)
		return rc;
	rc = pgreg_check_row(pc->conn, name, false, found, err, errlen);
	if (rc != PGCONN_OK || *found != PGREG_ROW_MADE)
		return rc;
	return pgcheck_claim_into(pc, false, NULL, name, 1, true, n, err,
	                          errlen);
}

/* pgcheck_claim_now - a name asked for outside the batch (a MAIL FROM
 * waits for it): claimed now when it is registered and free (its row in
 * authready_checks made first when it is missing); else a
 * claim without a lease (token 0) when PostgreSQL does not register it,
 * so its check stays local.  NULL when another checker holds it or
 * PostgreSQL failed (err). */
static struct pgcheck_claim *
pgcheck_claim_now(struct pgcheck *pc, const char *name, char *err,
                  size_t errlen)
{
	struct pgcheck_claim *cl;
	size_t n;
	int found;

	if (pgcheck_claim_name(pc, name, &found, &n, err, errlen) != PGCONN_OK)
		return NULL;
	if (n == 1)
		return &pc->claims[pc->nclaims - 1];
	if (found != PGREG_ROW_UNREGISTERED) {
		snprintf(err, errlen,
		         "%s: another checker holds it now; its result comes "
		         "through PostgreSQL",
		         name);
		return NULL;
	}
	if (pgcheck_claims_grow(&pc->claims, &pc->claims_cap, pc->nclaims + 1,
	                        err, errlen) != PGCONN_OK)
		return NULL;
	cl = &pc->claims[pc->nclaims++];
	memset(cl, 0, sizeof(*cl));
	snprintf(cl->domain, sizeof(cl->domain), "%s", name);
	pgcheck_index(pc);
	return cl;
}

/* pgcheck_find - the claim of domain, the live one when its lease ran
 * out and it was claimed again while the first check was out; NULL:
 * none. */
static struct pgcheck_claim *
pgcheck_find(struct pgcheck *pc, const char *domain)
{
	struct pgcheck_claim *found = NULL;
	size_t i, h, k;

	if (pc->index_len > 0) {
		h = pgcheck_hash(domain) & (pc->index_len - 1);
		while ((k = pc->index[h]) != 0) {
			if (strcmp(pc->claims[k - 1].domain, domain) == 0) {
				found = &pc->claims[k - 1];
				if (found->token != -1)
					return found;
			}
			h = (h + 1) & (pc->index_len - 1);
		}
		return found;
	}
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
	char why[256];

	if (cl == NULL &&
	    (cl = pgcheck_claim_now(arg, name, err, errlen)) == NULL)
		return STORE_ERROR;
	if (cl->reg_entry == NULL && cl->reg_len > 0) {
		snprintf(err, errlen,
		         "%s: out of memory for its registry entry", name);
		return STORE_ERROR;
	}
	if (cl->reg_entry == NULL) {
		snprintf(err, errlen, "%s: no registry entry in PostgreSQL",
		         name);
		return STORE_NOTFOUND;
	}
	if (storecodec_reg_decode(cl->reg_entry, cl->reg_len, reg, why,
	                          sizeof(why)) != 0) {
		snprintf(err, errlen,
		         "%s: its registry entry in PostgreSQL: %s", name, why);
		return STORE_NOTFOUND;
	}
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

/* The text of one array parameter ("{...}") of a flush. */
struct pgcheck_arr {
	char *buf;
	size_t len, cap, n;
	bool oom;
};

#define PGCHECK_ARR_HEADER 20 /* a binary array of one dimension */
#define PGCHECK_BYTEA_OID 17

/* pgcheck_arr_be32 - v at p, network order. */
static void
pgcheck_arr_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* pgcheck_arr_put - append len bytes. */
static void
pgcheck_arr_put(struct pgcheck_arr *a, const char *s, size_t len)
{
	if (a->oom)
		return;
	if (a->len + len + 2 > a->cap) {
		size_t cap = a->cap ? a->cap : 4096;
		char *grown;

		while (a->len + len + 2 > cap)
			cap *= 2;
		if ((grown = realloc(a->buf, cap)) == NULL) {
			a->oom = true;
			return;
		}
		a->buf = grown;
		a->cap = cap;
	}
	memcpy(a->buf + a->len, s, len);
	a->len += len;
	a->buf[a->len] = '\0';
}

/* pgcheck_arr_open - the element that follows: its separator and quote. */
static void
pgcheck_arr_open(struct pgcheck_arr *a)
{
	pgcheck_arr_put(a, a->n++ ? ",\"" : "{\"", 2);
}

/* pgcheck_arr_text - one element, quoted as an array literal wants. */
static void
pgcheck_arr_text(struct pgcheck_arr *a, const char *s)
{
	const char *run = s;

	pgcheck_arr_open(a);
	for (; *s != '\0'; s++)
		if (*s == '"' || *s == '\\') {
			pgcheck_arr_put(a, run, (size_t)(s - run));
			pgcheck_arr_put(a, "\\", 1);
			run = s;
		}
	pgcheck_arr_put(a, run, (size_t)(s - run));
	pgcheck_arr_put(a, "\"", 1);
}

/* pgcheck_arr_bytes - one element of a bytea[] in PostgreSQL's binary
 * array format (array_recv): after a header that pgcheck_arr_end_bytes
 * completes (one dimension, no NULLs, element type bytea), each
 * element's length (4 bytes, network order) and its bytes.  Sent so,
 * a state is neither hex-encoded here nor parsed character by
 * character and decoded there. */
static void
pgcheck_arr_bytes(struct pgcheck_arr *a, const unsigned char *b, size_t len)
{
	unsigned char word[4];

	if (a->n++ == 0) {
		static const char header[PGCHECK_ARR_HEADER] = {0};

		pgcheck_arr_put(a, header, sizeof(header));
	}
	pgcheck_arr_be32(word, (uint32_t)len);
	pgcheck_arr_put(a, (const char *)word, sizeof(word));
	pgcheck_arr_put(a, (const char *)b, len);
}

/* pgcheck_arr_end_bytes - the bytea[] of pgcheck_arr_bytes, its length
 * in *len; NULL when out of memory. */
static const char *
pgcheck_arr_end_bytes(struct pgcheck_arr *a, int *len)
{
	static const char empty[12] = {0, 0, 0, 0, 0, 0,
	                               0, 0, 0, 0, 0, PGCHECK_BYTEA_OID};
	unsigned char *h;

	if (a->n == 0) {
		pgcheck_arr_put(a, empty, sizeof(empty)); /* no dimension */
	} else if (!a->oom) {
		h = (unsigned char *)a->buf;
		pgcheck_arr_be32(h, 1);     /* dimensions */
		pgcheck_arr_be32(h + 4, 0); /* no NULLs */
		pgcheck_arr_be32(h + 8, PGCHECK_BYTEA_OID);
		pgcheck_arr_be32(h + 12, (uint32_t)a->n); /* elements */
		pgcheck_arr_be32(h + 16, 1);              /* lower bound */
	}
	if (a->oom || a->len > INT_MAX)
		return NULL;
	*len = (int)a->len;
	return a->buf;
}

/* pgcheck_arr_int - one element, a number. */
static void
pgcheck_arr_int(struct pgcheck_arr *a, long long v)
{
	/* digits by hand: five integers a result, snprintf was a tenth
	 * of the writer's time */
	char num[24];
	size_t i = sizeof(num);
	unsigned long long u =
	    v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	num[--i] = '"';
	do {
		num[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		num[--i] = '-';
	pgcheck_arr_open(a);
	pgcheck_arr_put(a, num + i, sizeof(num) - i);
}

/* pgcheck_arr_end - the closing brace: a NUL-terminated parameter, or
 * NULL when memory ran out. */
static const char *
pgcheck_arr_end(struct pgcheck_arr *a)
{
	pgcheck_arr_put(a, a->n ? "}" : "{}", a->n ? 1 : 2);
	return a->oom ? NULL : a->buf;
}

/* The arrays of one flush. */
enum pgcheck_col {
	PGCHECK_IN_DOMAIN, /* the fence's: the results sent, their leases */
	PGCHECK_IN_TOKEN,
	PGCHECK_ST_DOMAIN, /* written: states, next checks */
	PGCHECK_ST_ENTRY,
	PGCHECK_ST_READINESS,
	PGCHECK_ST_VERSION,
	PGCHECK_ST_TID, /* the leased authready_checks rows */
	PGCHECK_ST_NEXT,
	PGCHECK_NT_DOMAIN, /* notices */
	PGCHECK_NT_VERSION,
	PGCHECK_NT_ID,
	PGCHECK_NT_MESSAGE,
	PGCHECK_OB_DOMAIN, /* webhook events (pgoutbox.h) */
	PGCHECK_OB_EVENT,
	PGCHECK_ST_TOKEN, /* the lease each written row must still hold */
	PGCHECK_ST_PRIOR, /* the version each state must still be at */
	PGCHECK_COLS
};

/* A confirmation notice composed, not yet in the arrays. */
struct pgcheck_notice {
	char id[512];
	char msg[NOTIFY_MESSAGE_MAX];
};

/* pgcheck_notice - the confirmation notice of next (verified at version)
 * into nt, and next marked notified; false (nothing marked) when the
 * message cannot be composed: left to no one, as the single-host path
 * leaves an unsafe address. */
static bool
pgcheck_notice(struct pgcheck *pc, struct pgcheck_notice *nt,
               struct domain_state *next, const char *contact, int64_t version,
               int64_t now)
{
	char from[CONFIG_ADDRESS_MAX];

	pgcheck_from(pc->cfg, from, sizeof(from));
	if (notify_message_id(next->domain, (long long)version, from, nt->id,
	                      sizeof(nt->id)) != 0 ||
	    notify_compose_id(next, contact, from, (time_t)now, nt->id, nt->msg,
	                      sizeof(nt->msg)) <= 0)
		return false;
	state_mark_notified(next);
	return true;
}

/* pgcheck_transit - the transition of one result from PostgreSQL's
 * state (prior[0..prior_len), NULL: none) at prior_version, written at
 * version, into r and the arrays; -1 with r->err when its state cannot
 * be encoded. */
static int
pgcheck_transit(struct pgcheck *pc, struct pgcheck_arr *col,
                struct checker_result *r, const unsigned char *prior,
                size_t prior_len, long long prior_version, const char *tid,
                int64_t token, int64_t version)
{
	const struct checker_options *opt = pc->outer;
	unsigned char buf[STORECODEC_STATE_MAX];
	struct domain_state cur;
	enum webhook_type type;
	char why[256], *event = NULL;
	size_t len = 0, evlen;
	struct pgcheck_notice nt;
	bool noticed;

	memset(&cur, 0, sizeof(cur));
	if (prior == NULL || storecodec_state_decode(prior, prior_len, &cur,
	                                             why, sizeof(why)) != 0)
		memset(&cur, 0, sizeof(cur)); /* none, or corrupt: unknown */
	snprintf(cur.domain, sizeof(cur.domain), "%s", r->domain);
	state_apply(&cur, r->rep, opt->now, &opt->timing, &r->next, &r->fx);
	noticed =
	    r->fx.send_confirmation && r->contact[0] != '\0' &&
	    pgcheck_notice(pc, &nt, &r->next, r->contact, version, opt->now);
	if (storecodec_state_encode(&r->next, buf, sizeof(buf), &len, why,
	                            sizeof(why)) != 0) {
		snprintf(r->err, sizeof(r->err), "%s: %s", r->domain, why);
		return -1;
	}
	/* A change of state is a webhook event, in the same transaction. */
	type = r->fx.state_changed ? webhook_type_of(r->fx.from, r->fx.to)
	                           : WEBHOOK_NONE;
	if (type != WEBHOOK_NONE && outbox_enabled(pc->cfg)) {
		event = outbox_state_json(type, r->fx.from, &r->next, opt->now,
		                          &evlen, why, sizeof(why));
		if (event == NULL) {
			snprintf(r->err, sizeof(r->err), "%s: %s", r->domain,
			         why);
			return -1;
		}
		pgcheck_arr_text(&col[PGCHECK_OB_DOMAIN], r->domain);
		pgcheck_arr_text(&col[PGCHECK_OB_EVENT], event);
		free(event);
	}
	/* Nothing of a result goes into the arrays before it all can. */
	if (noticed) {
		pgcheck_arr_text(&col[PGCHECK_NT_DOMAIN], r->domain);
		pgcheck_arr_int(&col[PGCHECK_NT_VERSION], (long long)version);
		pgcheck_arr_text(&col[PGCHECK_NT_ID], nt.id);
		pgcheck_arr_text(&col[PGCHECK_NT_MESSAGE], nt.msg);
	}
	pgcheck_arr_text(&col[PGCHECK_ST_DOMAIN], r->domain);
	pgcheck_arr_bytes(&col[PGCHECK_ST_ENTRY], buf, len);
	pgcheck_arr_text(
	    &col[PGCHECK_ST_READINESS],
	    state_readiness_name((enum domain_readiness)r->next.state));
	pgcheck_arr_int(&col[PGCHECK_ST_VERSION], (long long)version);
	pgcheck_arr_text(&col[PGCHECK_ST_TID], tid);
	pgcheck_arr_int(&col[PGCHECK_ST_TOKEN], (long long)token);
	pgcheck_arr_int(&col[PGCHECK_ST_PRIOR], prior_version);
	pgcheck_arr_int(&col[PGCHECK_ST_NEXT],
	                r->next.next_check > 0 ? (long long)r->next.next_check
	                                       : 0);
	return 0;
}

/* The fence, for a write-back done again after the first found a lease
 * or a state moved: of the results sent (their claims' tokens), those
 * whose lease is still theirs and whose domain is still registered,
 * with PostgreSQL's state of each (entry and version) and the ctid of
 * the authready_checks row, in the order sent, the rows locked.
 * LATERAL: index lookups per result, never a scan of the tables to join
 * them.  It reads under the clock's lock, which every writer of the
 * registry and the states takes first: what it reads of those stays so
 * to COMMIT. */
#define PGCHECK_SQL_FENCE                                                      \
	"SELECT v.i, x.entry, x.version, x.ctid FROM unnest($1::text[], "      \
	"$2::bigint[]) WITH ORDINALITY AS v(domain, token, i), LATERAL "       \
	"(SELECT CASE WHEN s.deleted THEN NULL ELSE s.entry END AS entry, "    \
	"s.version, c.ctid FROM authready_checks c "                           \
	"JOIN authready_registry r ON r.domain = c.domain AND NOT r.deleted "  \
	"LEFT JOIN authready_state s ON s.domain = c.domain "                  \
	"WHERE c.domain = v.domain AND c.lease_token = v.token "               \
	"FOR UPDATE OF c) x ORDER BY v.i"

/* The write-back of a flush, one statement: each state written where
 * it is still at the version its transition was made from (0: no row
 * yet; the versions written are consecutive in the order of the
 * arrays, ending at the clock's $15, so a result's is the index of its
 * expected version in $14), the leases released with the next checks
 * (by ctid, where the token is still there: a removal deletes the
 * row, a registration over a tombstone lets go of its lease), the
 * notices, the webhook events (in the order of the results: their
 * seqs follow it), the clock at the last version, and
 * the NOTIFY (sent at COMMIT); its row says how many leases and how
 * many states it wrote, each of which must be all of them.  The first
 * try of a flush makes its transitions from the states its claims read
 * (no fence: a row that moved since fails these matches, and the flush
 * is done again after the fence); the second from the fence's.  Each
 * row is found through its own key or ctid (an upsert, a TID join, a
 * scalar subquery), never by a join whose plan would depend on how
 * large PostgreSQL thinks the tables are. */
#define PGCHECK_SQL_WRITE                                                      \
	"WITH st AS (INSERT INTO authready_state "                             \
	"(domain, entry, readiness, version, deleted) "                        \
	"SELECT d, e, r, v, false FROM unnest($1::text[], "                    \
	"$2::bytea[], $3::text[], $4::bigint[]) AS u(d, e, r, v) "             \
	"ON CONFLICT (domain) DO UPDATE SET entry = EXCLUDED.entry, "          \
	"readiness = EXCLUDED.readiness, version = EXCLUDED.version, "         \
	"deleted = false WHERE authready_state.version = ($14::bigint[])"      \
	"[EXCLUDED.version - $15::bigint + cardinality($14::bigint[])] "       \
	"RETURNING 1), "                                                       \
	"ck AS (UPDATE authready_checks c SET lease_owner = NULL, "            \
	"lease_until = NULL, lease_token = NULL, checked = now(), "            \
	"next_check = to_timestamp(u.n) "                                      \
	"FROM unnest($1::text[], $5::tid[], $6::bigint[], $13::bigint[]) "     \
	"AS u(d, t, n, k) "                                                    \
	"WHERE c.ctid = u.t AND c.domain = u.d AND c.lease_token = u.k "       \
	"RETURNING 1), "                                                       \
	"nt AS (INSERT INTO authready_notices "                                \
	"(domain, verified_version, message_id, message) "                     \
	"SELECT * FROM unnest($7::text[], $8::bigint[], $9::text[], "          \
	"$10::text[]) ON CONFLICT DO NOTHING), "                               \
	"ob AS (INSERT INTO authready_webhook_outbox (domain, event) "         \
	"SELECT d, e FROM unnest($11::text[], $12::text[]) WITH ORDINALITY "   \
	"AS u(d, e, i) ORDER BY i), "                                          \
	"cl AS (UPDATE authready_clock SET version = $15::bigint "             \
	"WHERE id = 1) "                                                       \
	"SELECT (SELECT count(*) FROM ck), (SELECT count(*) FROM st), "        \
	"pg_notify('authready_changes', $15::bigint::text)"

#define PGCHECK_LEASE_MOVED 1 /* pgcheck_write: a row moved, do again */

/* The writer connection's planning: generic plans, made with scans by
 * key (every row its statements touch is found by key or ctid; a scan
 * costs what the table holds, whatever its statistics say). */
#define PGCHECK_SQL_WRITER_PLANS                                               \
	"SELECT set_config('plan_cache_mode', 'force_generic_plan', false), "  \
	"set_config('enable_seqscan', 'off', false)"

/* What a flush's result carries from its claim: PostgreSQL's state as
 * the claim read it (struct pgcheck_claim). */
struct pgcheck_carried {
	unsigned char *prior; /* owned: free */
	size_t prior_len;
	long long prior_version;
	char tid[PGCHECK_TID_MAX];
};

/* pgcheck_fenced - the locked fence's row k into res (by its order in
 * idx), its transition into the arrays at version *version + 1; true
 * when it goes in. */
static bool
pgcheck_fenced(struct pgcheck *pc, struct pgcheck_arr *col, PGresult *fence,
               int k, struct checker_result *res, const size_t *idx,
               const int64_t *tokens, size_t m, int64_t *ver, int64_t *version)
{
	long long at = strtoll(PQgetvalue(fence, k, 0), NULL, 10);
	unsigned char *bytes = NULL;
	size_t len = 0;
	long long prior_version = 0;
	int rc;

	if (at < 1 || (size_t)at > m)
		return false;
	if (!PQgetisnull(fence, k, 1) &&
	    (bytes = PQunescapeBytea(
	         (const unsigned char *)PQgetvalue(fence, k, 1), &len)) == NULL)
		prior_version = -1; /* out of memory: matches no row */
	else if (!PQgetisnull(fence, k, 2))
		prior_version = strtoll(PQgetvalue(fence, k, 2), NULL, 10);
	rc = pgcheck_transit(pc, col, &res[idx[at - 1]], bytes, len,
	                     prior_version, PQgetvalue(fence, k, 3),
	                     tokens[at - 1], *version + 1);
	PQfreemem(bytes);
	if (rc != 0)
		return false; /* rc stays: not written */
	res[idx[at - 1]].rc = 0;
	ver[idx[at - 1]] = ++*version;
	return true;
}

/* pgcheck_write - the transaction of a flush on conn: res[idx[0..m)]
 * hold their claims' leases (tokens[0..m)) and carry their claims'
 * reads (carried[0..m)); each one written gets rc 0 and its version in
 * ver[], one whose lease was lost keeps CHECKER_DROPPED (-1 for all of
 * them when the transaction failed).  Without fence, the transitions
 * are made from what the claims read, and a row that moved since (a
 * lease taken after it ran out, a state written or a domain removed
 * meanwhile) rolls it all back and returns PGCHECK_LEASE_MOVED (nothing
 * written: do it again with the fence).  With fence, from the locked
 * fence's reads.  Reads nothing of pc that a round changes: the
 * background writer runs it too. */
static int
pgcheck_write(struct pgcheck *pc, PGconn *conn, struct checker_result *res,
              const size_t *idx, const int64_t *tokens,
              const struct pgcheck_carried *carried, size_t m, int64_t *ver,
              struct pgcheck_arr *col, bool fence, char *err, size_t errlen)
{
	const char *values[2], *wvals[15];
	int wlens[15], wbin[15];
	char vtext[32];
	PGresult *res_clock = NULL, *fenced = NULL, *done = NULL;
	int64_t version;
	size_t i, kept = 0;
	int rc, rows, k;

	if ((rc = pgconn_exec(conn, "BEGIN", "BEGIN", 0, NULL, NULL, NULL, NULL,
	                      err, errlen)) != PGCONN_OK)
		goto fail;
	/* The clock first, as every writer takes it: writers queue on it
	 * and never wait for each other's rows in another order. */
	rc = pgconn_exec(conn, "taking the clock",
	                 "SELECT version FROM authready_clock WHERE id = 1 "
	                 "FOR UPDATE",
	                 0, NULL, NULL, NULL, &res_clock, err, errlen);
	if (rc != PGCONN_OK)
		goto fail;
	if (PQntuples(res_clock) != 1) {
		PQclear(res_clock);
		rc = errbuf_code(err, errlen, PGCONN_FAILED,
		                 "authready_clock has no row");
		goto fail;
	}
	version = strtoll(PQgetvalue(res_clock, 0, 0), NULL, 10);
	PQclear(res_clock);
	if (fence) {
		for (i = 0; i < m; i++) {
			pgcheck_arr_text(&col[PGCHECK_IN_DOMAIN],
			                 res[idx[i]].domain);
			pgcheck_arr_int(&col[PGCHECK_IN_TOKEN],
			                (long long)tokens[i]);
		}
		values[0] = pgcheck_arr_end(&col[PGCHECK_IN_DOMAIN]);
		values[1] = pgcheck_arr_end(&col[PGCHECK_IN_TOKEN]);
		if (values[0] == NULL || values[1] == NULL) {
			rc = errbuf_code(err, errlen, PGCONN_FAILED,
			                 "out of memory for %zu results", m);
			goto fail;
		}
		if ((rc = pgconn_exec(conn, "checking the leases",
		                      PGCHECK_SQL_FENCE, 2, values, NULL, NULL,
		                      &fenced, err, errlen)) != PGCONN_OK)
			goto fail;
		rows = PQntuples(fenced);
		for (k = 0; k < rows; k++)
			kept += pgcheck_fenced(pc, col, fenced, k, res, idx,
			                       tokens, m, ver, &version);
		PQclear(fenced);
	} else
		for (i = 0; i < m; i++) {
			struct checker_result *r = &res[idx[i]];

			if (pgcheck_transit(
			        pc, col, r, carried[i].prior,
			        carried[i].prior_len, carried[i].prior_version,
			        carried[i].tid, tokens[i], version + 1) != 0)
				continue; /* rc stays: not written */
			r->rc = 0;
			ver[idx[i]] = ++version;
			kept++;
		}
	memset(wlens, 0, sizeof(wlens));
	memset(wbin, 0, sizeof(wbin));
	for (i = PGCHECK_ST_DOMAIN; i < PGCHECK_COLS; i++)
		if ((wvals[i - PGCHECK_ST_DOMAIN] =
		         i == PGCHECK_ST_ENTRY
		             ? pgcheck_arr_end_bytes(
		                   &col[i], &wlens[i - PGCHECK_ST_DOMAIN])
		             : pgcheck_arr_end(&col[i])) == NULL) {
			rc = errbuf_code(err, errlen, PGCONN_FAILED,
			                 "out of memory for %zu results", m);
			goto fail;
		}
	wbin[PGCHECK_ST_ENTRY - PGCHECK_ST_DOMAIN] = 1;
	snprintf(vtext, sizeof(vtext), "%" PRId64, version);
	wvals[14] = vtext;
	rc = conn == pc->wconn && pc->wprepared
	         ? pgconn_exec_prepared(conn, "writing the results",
	                                "authready_write", 15, wvals, wlens,
	                                wbin, &done, err, errlen)
	         : pgconn_exec(conn, "writing the results", PGCHECK_SQL_WRITE,
	                       15, wvals, wlens, wbin, &done, err, errlen);
	if (rc == PGCONN_OK &&
	    (PQntuples(done) != 1 ||
	     strtoull(PQgetvalue(done, 0, 0), NULL, 10) != kept ||
	     strtoull(PQgetvalue(done, 0, 1), NULL, 10) != kept)) {
		/* A row moved after its claim read it: none of this is
		 * written; the caller does it again with the fence. */
		PQclear(done);
		if (fence) {
			rc = errbuf_code(err, errlen, PGCONN_FAILED,
			                 "a lease or a state moved under the "
			                 "fence's locks");
			goto fail;
		}
		pgconn_rollback(conn);
		for (i = 0; i < m; i++)
			res[idx[i]].rc = CHECKER_DROPPED;
		return PGCHECK_LEASE_MOVED;
	}
	PQclear(done);
	if (rc == PGCONN_OK)
		rc = pgconn_commit(conn, err, errlen);
	if (rc == PGCONN_OK)
		return PGCONN_OK;
fail:
	pgconn_rollback(conn);
	for (i = 0; i < m; i++)
		res[idx[i]].rc = -1;
	return rc;
}

/* pgcheck_written - a result written: logged with its version. */
static void
pgcheck_written(struct pgcheck *pc, struct pgcheck_claim *cl,
                const struct checker_result *r, long long version)
{
	struct log_line line;
	char vtext[32];

	pc->written++;
	cl->token = -1; /* written: a second result would be dropped */
	snprintf(vtext, sizeof(vtext), "%lld", version);
	log_line_init(&line);
	log_field_text(&line, "event", "fleet-write");
	log_field(&line, "domain", r->domain);
	log_field_text(
	    &line, "state",
	    state_readiness_name((enum domain_readiness)r->next.state));
	log_field_text(&line, "version", vtext);
	log_emit(LOG_INFO, &line);
}

/* One flush: the results, which of them hold a lease (idx, tokens: m
 * of them), the versions written, the outcome. */
struct pgcheck_flushing {
	struct checker_result *res;
	size_t n, m;
	size_t *idx;
	int64_t *tokens, *ver;
	struct pgcheck_carried *carried; /* taken from the claims */
	int rc;
	char err[PGCONN_ERR_MAX];
};

/* pgcheck_prepare - f for res[0..n): a name with no claim, or one
 * already written, lost its lease; an unregistered one (token 0) is not
 * ours.  -1 when out of memory (every result failed). */
static int
pgcheck_prepare(struct pgcheck *pc, struct pgcheck_flushing *f,
                struct checker_result *res, size_t n)
{
	struct pgcheck_claim *cl;
	size_t i;

	memset(f, 0, sizeof(*f));
	f->res = res;
	f->n = n;
	f->idx = calloc(n ? n : 1, sizeof(*f->idx));
	f->tokens = calloc(n ? n : 1, sizeof(*f->tokens));
	f->ver = calloc(n ? n : 1, sizeof(*f->ver));
	f->carried = calloc(n ? n : 1, sizeof(*f->carried));
	if (f->idx == NULL || f->tokens == NULL || f->ver == NULL ||
	    f->carried == NULL) {
		free(f->idx);
		free(f->tokens);
		free(f->ver);
		free(f->carried);
		f->idx = NULL;
		f->tokens = f->ver = NULL;
		f->carried = NULL;
		for (i = 0; i < n; i++) {
			res[i].rc = -1;
			snprintf(res[i].err, sizeof(res[i].err),
			         "out of memory");
		}
		return -1;
	}
	for (i = 0; i < n; i++) {
		cl = pgcheck_find(pc, res[i].domain);
		if (cl != NULL && cl->token == 0)
			res[i].rc = CHECKER_LOCAL; /* unregistered: not ours */
		else if (cl == NULL || cl->token < 0)
			res[i].rc = CHECKER_DROPPED;
		else {
			res[i].rc = CHECKER_DROPPED; /* until written */
			/* what the claim read goes with the result (the
			 * claim may be compacted away while it is out) */
			f->carried[f->m].prior = cl->prior;
			f->carried[f->m].prior_len = cl->prior_len;
			f->carried[f->m].prior_version = cl->prior_version;
			memcpy(f->carried[f->m].tid, cl->tid, sizeof(cl->tid));
			cl->prior = NULL;
			cl->prior_version = -1; /* taken: matches no row */
			f->tokens[f->m] = cl->token;
			f->idx[f->m++] = i;
		}
	}
	f->rc = PGCONN_OK;
	return 0;
}

/* pgcheck_transact - f's write-back on conn (any thread). */
static void
pgcheck_transact(struct pgcheck *pc, PGconn *conn, struct pgcheck_flushing *f)
{
	struct pgcheck_arr col[PGCHECK_COLS];
	size_t i;
	bool fence = false;

	for (;;) {
		memset(col, 0, sizeof(col));
		f->rc = f->m > 0
		            ? pgcheck_write(pc, conn, f->res, f->idx, f->tokens,
		                            f->carried, f->m, f->ver, col,
		                            fence, f->err, sizeof(f->err))
		            : PGCONN_OK;
		for (i = 0; i < PGCHECK_COLS; i++)
			free(col[i].buf);
		if (f->rc != PGCHECK_LEASE_MOVED)
			break;
		/* a row moved since the claims: again, after the fence */
		log_msg(LOG_INFO,
		        "event=fleet-lease-moved results=%zu (a lease or a "
		        "state changed since the claim; written again after "
		        "the fence, the leases locked)",
		        f->m);
		fence = true;
	}
}

/* pgcheck_settle - after the write-back: claims marked, results logged. */
static void
pgcheck_settle(struct pgcheck *pc, struct pgcheck_flushing *f)
{
	struct pgcheck_claim *cl;
	size_t i;

	for (i = 0; i < f->n; i++) {
		struct checker_result *r = &f->res[i];

		if (r->rc == CHECKER_DROPPED) {
			cl = pgcheck_find(pc, r->domain);
			if (cl != NULL)
				cl->token = -1; /* its result came back */
			(void)pgcheck_dropped(pc, r->domain, r->err,
			                      sizeof(r->err));
		} else if (r->rc == -1 && f->rc != PGCONN_OK)
			snprintf(r->err, sizeof(r->err), "%s", f->err);
		else if (r->rc == 0)
			pgcheck_written(pc, pgcheck_find(pc, r->domain), r,
			                (long long)f->ver[i]);
	}
	for (i = 0; i < f->m; i++)
		free(f->carried[i].prior);
	free(f->idx);
	free(f->tokens);
	free(f->ver);
	free(f->carried);
	f->idx = NULL;
	f->tokens = f->ver = NULL;
	f->carried = NULL;
}

void
pgcheck_flush(void *arg, struct checker_result *res, size_t n)
{
	struct pgcheck *pc = arg;
	struct pgcheck_flushing f;

	if (pgcheck_prepare(pc, &f, res, n) != 0)
		return;
	pgcheck_transact(pc, pc->conn, &f);
	pgcheck_settle(pc, &f);
}

/*
 * The background writer of a round: one thread on its own connection
 * (pc->wconn) that writes the flush the checker submitted and makes the
 * round's next claim, so the checks go on while PostgreSQL works.  One
 * of each is out at a time; a claim goes first.  The thread touches only
 * its requests, the connection and the round's cursor (pc->cursor,
 * pc->at_end: the checker's thread leaves them alone while it runs);
 * the claims the checker holds stay the checker thread's.  wake[1] is
 * written when a flush was written (checker_options.wake_fd).
 */
enum pgcheck_ask { PGCHECK_IDLE, PGCHECK_ASKED, PGCHECK_DONE };

struct pgcheck_worker {
	struct pgcheck *pc;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int wake[2];
	bool stop;
	enum pgcheck_ask flush_ask, claim_ask;
	struct pgcheck_flushing flush; /* the flush out */
	struct pgcheck_claim *pre;     /* the next claim, made ahead */
	size_t npre, pre_cap;
	int claim_rc;
	char claim_err[PGCONN_ERR_MAX];
};

/* pgcheck_prefetch - the round's next claim on the writer's connection,
 * as pgcheck_batch, into w->pre. */
static int
pgcheck_prefetch(struct pgcheck_worker *w)
{
	struct pgcheck *pc = w->pc;
	bool from_first = pc->cursor[0] == '\0';
	size_t n;
	int rc;

	pgcheck_claims_free(w->pre, w->npre);
	w->npre = 0;
	for (;;) {
		rc = pgcheck_claim_rows(pc, pc->wconn, pc->all, pc->round_start,
		                        NULL, pc->limit, &w->pre, &w->npre,
		                        &w->pre_cap, &n, w->claim_err,
		                        sizeof(w->claim_err));
		if (rc != PGCONN_OK || n > 0)
			break;
		if (!pc->at_end)
			continue;
		if (from_first)
			break;
		pgcheck_wrap(pc);
		from_first = true;
	}
	return rc;
}

/* pgcheck_worker_main - write what is asked until told to stop. */
static void *
pgcheck_worker_main(void *arg)
{
	struct pgcheck_worker *w = arg;
	ssize_t wr;
	int rc;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stop && w->flush_ask != PGCHECK_ASKED &&
		       w->claim_ask != PGCHECK_ASKED)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		/* A claim first: the checker may wait for it; for a flush
		 * it waits only when it holds twice as much. */
		if (w->claim_ask == PGCHECK_ASKED) {
			pthread_mutex_unlock(&w->mu);
			rc = pgcheck_prefetch(w);
			pthread_mutex_lock(&w->mu);
			w->claim_rc = rc;
			w->claim_ask = PGCHECK_DONE;
		} else {
			pthread_mutex_unlock(&w->mu);
			pgcheck_transact(w->pc, w->pc->wconn, &w->flush);
			pthread_mutex_lock(&w->mu);
			w->flush_ask = PGCHECK_DONE;
			do
				wr = write(w->wake[1], "", 1);
			while (wr < 0 && errno == EINTR);
		}
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* pgcheck_worker_start - the writer of a round, on pc->wconn (made, or
 * made again when it broke).  -1 when it cannot run: the round writes
 * in its own turn, as before. */
static int
pgcheck_worker_start(struct pgcheck *pc)
{
	struct pgcheck_worker *w;
	char err[PGCONN_ERR_MAX];
	int i;

	if (pc->wconn != NULL && PQstatus(pc->wconn) != CONNECTION_OK) {
		PQfinish(pc->wconn);
		pc->wconn = NULL;
	}
	if (pc->wconn == NULL) {
		if (pgconn_open(pc->cfg, &pc->wconn, err, sizeof(err)) !=
		    PGCONN_OK) {
			log_msg(LOG_WARNING,
			        "event=fleet-writer-failed error=\"%s\" (the "
			        "round writes its results in turn)",
			        err);
			pc->wconn = NULL;
			return -1;
		}
		/* The round's statements planned once for the
		 * connection (generic plans: a claim's custom plan cost
		 * more to make than to run), never as scans: a plan made
		 * while authready_state was empty by its statistics (a
		 * new fleet's first round, after a VACUUM) read the whole
		 * table for every state a claim looked up, as the round
		 * filled it, until an ANALYZE made it plan again (at
		 * 100,000 domains a round took 77 s instead of 7). */
		pc->wprepared =
		    pgconn_exec(pc->wconn, "choosing generic plans",
		                PGCHECK_SQL_WRITER_PLANS, 0, NULL, NULL, NULL,
		                NULL, err, sizeof(err)) == PGCONN_OK &&
		    pgconn_prepare(pc->wconn, "preparing the claim",
		                   "authready_claim", PGCHECK_SQL_CLAIM_ROUND,
		                   err, sizeof(err)) == PGCONN_OK &&
		    pgconn_prepare(pc->wconn, "preparing the write-back",
		                   "authready_write", PGCHECK_SQL_WRITE, err,
		                   sizeof(err)) == PGCONN_OK;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->pc = pc;
	if (pipe(w->wake) != 0) {
		free(w);
		return -1;
	}
	for (i = 0; i < 2; i++) {
		(void)fcntl(w->wake[i], F_SETFD, FD_CLOEXEC);
		(void)fcntl(w->wake[i], F_SETFL,
		            fcntl(w->wake[i], F_GETFL) | O_NONBLOCK);
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thread, NULL, pgcheck_worker_main, w) != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		close(w->wake[0]);
		close(w->wake[1]);
		free(w);
		return -1;
	}
	(void)pthread_setname_np(w->thread, "ar-pgwriter"); /* top -H */
	pc->worker = w;
	return 0;
}

/* pgcheck_unclaim - give back the leases of claims nobody will check
 * (a claim made ahead when the round stopped), so that they are due at
 * once, not when the leases run out. */
static void
pgcheck_unclaim(PGconn *conn, const struct pgcheck_claim *v, size_t n)
{
	struct pgcheck_arr names, tokens;
	const char *values[2];
	char err[PGCONN_ERR_MAX];
	size_t i;

	if (n == 0)
		return;
	memset(&names, 0, sizeof(names));
	memset(&tokens, 0, sizeof(tokens));
	for (i = 0; i < n; i++) {
		pgcheck_arr_text(&names, v[i].domain);
		pgcheck_arr_int(&tokens, v[i].token);
	}
	values[0] = pgcheck_arr_end(&names);
	values[1] = pgcheck_arr_end(&tokens);
	if (values[0] != NULL && values[1] != NULL)
		(void)pgconn_exec(
		    conn, "giving back claims",
		    "UPDATE authready_checks c SET lease_owner = NULL, "
		    "lease_until = NULL, lease_token = NULL FROM "
		    "unnest($1::text[], $2::bigint[]) AS u(d, t) "
		    "WHERE c.domain = u.d AND c.lease_token = u.t",
		    2, values, NULL, NULL, NULL, err, sizeof(err));
	free(names.buf);
	free(tokens.buf);
}

/* pgcheck_worker_stop - the writer's last request done, the thread
 * joined; a claim made ahead and never taken is given back. */
static void
pgcheck_worker_stop(struct pgcheck *pc)
{
	struct pgcheck_worker *w = pc->worker;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	while (w->flush_ask == PGCHECK_ASKED || w->claim_ask == PGCHECK_ASKED)
		pthread_cond_wait(&w->cv, &w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	if (w->claim_ask == PGCHECK_DONE && w->claim_rc == PGCONN_OK)
		pgcheck_unclaim(pc->wconn, w->pre, w->npre);
	pgcheck_claims_free(w->pre, w->npre);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	close(w->wake[0]);
	close(w->wake[1]);
	free(w->pre);
	free(w);
	pc->worker = NULL;
}

/* pgcheck_submit - checker_submit_cb: the flush to the writer. */
static bool
pgcheck_submit(void *arg, struct checker_result *res, size_t n)
{
	struct pgcheck *pc = arg;
	struct pgcheck_worker *w = pc->worker;
	bool busy;

	if (w == NULL)
		return false;
	pthread_mutex_lock(&w->mu);
	busy = w->flush_ask != PGCHECK_IDLE;
	pthread_mutex_unlock(&w->mu);
	if (busy)
		return false;
	if (pgcheck_prepare(pc, &w->flush, res, n) != 0) {
		/* every result failed already: handed back at once */
		pthread_mutex_lock(&w->mu);
		w->flush.idx = NULL;
		w->flush_ask = PGCHECK_DONE;
		pthread_mutex_unlock(&w->mu);
		return true;
	}
	pthread_mutex_lock(&w->mu);
	w->flush_ask = PGCHECK_ASKED;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return true;
}

/* pgcheck_reap - checker_reap_cb: the flush the writer wrote, settled. */
static struct checker_result *
pgcheck_reap(void *arg, bool wait)
{
	struct pgcheck *pc = arg;
	struct pgcheck_worker *w = pc->worker;
	struct checker_result *res;
	char drain[64];

	if (w == NULL)
		return NULL;
	pthread_mutex_lock(&w->mu);
	if (wait && w->flush_ask == PGCHECK_ASKED) {
		uint64_t t0 = text_now_ms();

		while (w->flush_ask == PGCHECK_ASKED)
			pthread_cond_wait(&w->cv, &w->mu);
		pc->waited_write_ms += text_now_ms() - t0;
	}
	if (w->flush_ask != PGCHECK_DONE) {
		pthread_mutex_unlock(&w->mu);
		return NULL;
	}
	w->flush_ask = PGCHECK_IDLE;
	pthread_mutex_unlock(&w->mu);
	while (read(w->wake[0], drain, sizeof(drain)) > 0)
		;
	res = w->flush.res;
	if (w->flush.idx != NULL)
		pgcheck_settle(pc, &w->flush);
	return res;
}

/* pgcheck_take_ahead - the claim the writer made ahead (asked now if it
 * was not), into the checker's claims and pc->name_list; the next one
 * asked for at once.  A pgconn status. */
static int
pgcheck_take_ahead(struct pgcheck *pc, size_t *n, char *err, size_t errlen)
{
	struct pgcheck_worker *w = pc->worker;
	size_t i, first;
	int rc;

	pthread_mutex_lock(&w->mu);
	if (w->claim_ask == PGCHECK_IDLE) {
		w->claim_ask = PGCHECK_ASKED;
		pthread_cond_broadcast(&w->cv);
	}
	if (w->claim_ask != PGCHECK_DONE) {
		uint64_t t0 = text_now_ms();

		while (w->claim_ask != PGCHECK_DONE)
			pthread_cond_wait(&w->cv, &w->mu);
		pc->waited_claim_ms += text_now_ms() - t0;
	}
	w->claim_ask = PGCHECK_IDLE;
	rc = w->claim_rc;
	if (rc != PGCONN_OK)
		snprintf(err, errlen, "%s", w->claim_err);
	pthread_mutex_unlock(&w->mu);
	*n = 0;
	if (rc != PGCONN_OK)
		return rc;
	pgcheck_compact(pc);
	first = pc->nclaims;
	if ((rc = pgcheck_claims_grow(&pc->claims, &pc->claims_cap,
	                              pc->nclaims + w->npre, err, errlen)) !=
	    PGCONN_OK) {
		pgcheck_unclaim(pc->conn, w->pre, w->npre);
		pgcheck_claims_free(w->pre, w->npre);
		w->npre = 0;
		return rc;
	}
	memcpy(&pc->claims[first], w->pre, w->npre * sizeof(*w->pre));
	pc->nclaims += w->npre;
	pc->claimed += w->npre;
	*n = w->npre;
	w->npre = 0;
	pgcheck_index(pc);
	for (i = 0; i < *n; i++) {
		memcpy(pc->names[i], pc->claims[first + i].domain, DOMAIN_BUF);
		pc->name_list[i] = pc->names[i];
	}
	if (*n > 0) {
		pthread_mutex_lock(&w->mu);
		w->claim_ask = PGCHECK_ASKED;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
	return PGCONN_OK;
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
	inner->flush = pgcheck_flush;
	inner->submit = NULL; /* pgcheck_round's writer */
	inner->reap = NULL;
	inner->wake_fd = -1;
	inner->more = NULL;    /* pgcheck_round's own */
	inner->notify = false; /* notices go through PostgreSQL */
}

/* pgcheck_batch - claim the round's next batch, on from the cursor, a
 * window of keys after another; at the end of the keys once more from
 * the first, for what became claimable behind it (a lease that ran
 * out).  The names go to
 * pc->name_list.  A pgconn status. */
static int
pgcheck_batch(struct pgcheck *pc, const char *domain, size_t *n, char *err,
              size_t errlen)
{
	bool from_first = pc->cursor[0] == '\0';
	size_t i, first;
	int rc, found;

	pgcheck_compact(pc);
	first = pc->nclaims;
	for (;;) {
		rc =
		    domain != NULL
		        ? pgcheck_claim_name(pc, domain, &found, n, err, errlen)
		        : pgcheck_claim_into(pc, pc->all, pc->round_start, NULL,
		                             pc->limit, true, n, err, errlen);
		if (rc != PGCONN_OK || *n > 0 || domain != NULL)
			break;
		if (!pc->at_end)
			continue; /* nothing claimable there: the next keys */
		if (from_first)
			break; /* walked from the first key: none left */
		pgcheck_wrap(pc);
		from_first = true;
	}
	/* Copies: a claim made while they run may move the claims. */
	for (i = 0; rc == PGCONN_OK && i < *n; i++) {
		memcpy(pc->names[i], pc->claims[first + i].domain, DOMAIN_BUF);
		pc->name_list[i] = pc->names[i];
	}
	return rc;
}

/* pgcheck_more - checker_more_cb: the next claim of the round while the
 * checker's window still runs the end of the last one. */
static bool
pgcheck_more(void *arg, char *const **names, size_t *n)
{
	struct pgcheck *pc = arg;
	const struct checker_options *o = pc->outer;
	int rc;

	if (pc->more_rc != PGCONN_OK)
		return false;
	rc = pc->worker != NULL
	         ? pgcheck_take_ahead(pc, n, pc->more_err, sizeof(pc->more_err))
	         : pgcheck_batch(pc, NULL, n, pc->more_err,
	                         sizeof(pc->more_err));
	if (rc != PGCONN_OK) {
		pc->more_rc = rc;
		return false;
	}
	*names = pc->name_list;
	if (o->on_progress)
		o->on_progress(o->arg, pc->written + pc->dropped, pc->claimed);
	return *n > 0;
}

int
pgcheck_round(struct pgcheck *pc, struct store *st, struct dns *dns,
              const struct checker_options *opt, bool all, const char *domain,
              struct checker_stats *stats, char *err, size_t errlen)
{
	struct checker_options inner;
	char start[64];
	const char *values[1];
	bool random_start;
	PGresult *res;
	size_t n;
	int rc;

	memset(stats, 0, sizeof(*stats));
	pgcheck_options(pc, opt, &inner);
	/* One window a claim: the checker asks for the next one when the
	 * last is all started, so each of its checks starts within
	 * CheckTimeout and ends within twice that, in its lease (a claim
	 * the writer makes ahead: one CheckTimeout more, and a lease as
	 * much longer). */
	pc->limit = opt->window ? opt->window : CHECKER_WINDOW_DEFAULT;
	pc->all = all;
	pc->round_start = start;
	pc->more_rc = PGCONN_OK;
	free(pc->names);
	free(pc->name_list);
	pc->names = calloc(pc->limit, sizeof(*pc->names));
	pc->name_list = calloc(pc->limit, sizeof(*pc->name_list));
	if (pc->names == NULL || pc->name_list == NULL)
		return errbuf_code(err, errlen, PGCONN_FAILED, "out of memory");
	/* The round began on PostgreSQL's clock, not this host's.  Where
	 * its claims start: a key at random when there are more than a
	 * page of them (checkers started together then walk keys apart,
	 * rather than each claim finding the last one's rows taken:
	 * short claims, twice as many, each slower), else the first; the
	 * keys before it are claimed once the walk wraps. */
	values[0] = domain == NULL ? "t" : "f";
	if ((rc = pgconn_exec(pc->conn, "reading the clock",
	                      PGCHECK_SQL_ROUND_START, 1, values, NULL, NULL,
	                      &res, err, errlen)) != PGCONN_OK)
		return rc;
	snprintf(start, sizeof(start), "%s", PQgetvalue(res, 0, 0));
	random_start = !PQgetisnull(res, 0, 1);
	snprintf(pc->cursor, sizeof(pc->cursor), "%s",
	         random_start ? PQgetvalue(res, 0, 1) : "");
	memcpy(pc->start_key, pc->cursor, sizeof(pc->start_key));
	pc->stop[0] = '\0';
	PQclear(res);
	pc->window = 0;
	if ((rc = pgcheck_batch(pc, domain, &n, err, errlen)) != PGCONN_OK)
		return rc;
	if (n == 0)
		return PGCONN_OK;
	/* One run: the next claims come through pgcheck_more; after a
	 * full first claim (or a first claim from a key at random: the
	 * keys before it are to come too), made ahead and written by the
	 * writer. */
	if (domain == NULL)
		inner.more = pgcheck_more;
	if (domain == NULL && (n == pc->limit || random_start) &&
	    pgcheck_worker_start(pc) == 0) {
		inner.submit = pgcheck_submit;
		inner.reap = pgcheck_reap;
		inner.wake_fd = pc->worker->wake[0];
		log_msg(LOG_INFO,
		        "event=fleet-writer owner=%s (claims ahead "
		        "and write-backs on a second connection)",
		        pc->owner);
		pthread_mutex_lock(&pc->worker->mu);
		pc->worker->claim_ask = PGCHECK_ASKED;
		pthread_cond_broadcast(&pc->worker->cv);
		pthread_mutex_unlock(&pc->worker->mu);
	}
	rc = checker_run(st, dns, &inner, pc->name_list, n, stats, err, errlen);
	pgcheck_worker_stop(pc);
	pc->round_start = NULL;
	if (rc != 0)
		return PGCHECK_LOCAL;
	if (pc->more_rc != PGCONN_OK) {
		snprintf(err, errlen, "%s", pc->more_err);
		return pc->more_rc;
	}
	return PGCONN_OK;
}

/* A notice's claim renewed before its hand-off, where it is still ours
 * and has not run out; PGCHECK_SQL_NOTICE_HAND marks it handed too. */
#define PGCHECK_SQL_NOTICE_RENEW_SET                                           \
	"UPDATE authready_notices SET claimed_until = now() + interval "       \
	"'" PGCHECK_STR(PGCHECK_NOTICE_LEASE_S) " s'"
#define PGCHECK_SQL_NOTICE_OURS                                                \
	" WHERE domain = $1 AND verified_version = $2 AND claimed_by = $3 "    \
	"AND claimed_until > now()"
#define PGCHECK_SQL_NOTICE_RENEW                                               \
	PGCHECK_SQL_NOTICE_RENEW_SET PGCHECK_SQL_NOTICE_OURS
#define PGCHECK_SQL_NOTICE_HANDED ", handed_at = now()"
#define PGCHECK_SQL_NOTICE_HAND                                                \
	PGCHECK_SQL_NOTICE_RENEW_SET PGCHECK_SQL_NOTICE_HANDED                 \
	    PGCHECK_SQL_NOTICE_OURS

/* pgcheck_notice_mark - set column (handed_at or sent_at) of a notice we
 * hold; clear (a failed hand-off) releases it for a later retry.  *rows
 * (may be NULL): the rows it changed. */
static int
pgcheck_notice_mark(struct pgcheck *pc, const char *domain, const char *ver,
                    const char *sql, int *rows, char *err, size_t errlen)
{
	const char *values[3] = {domain, ver, pc->owner};
	PGresult *res;
	int rc;

	rc = pgconn_exec(pc->conn, "marking a notice", sql, 3, values, NULL,
	                 NULL, &res, err, errlen);
	if (rc != PGCONN_OK)
		return rc;
	if (rows != NULL)
		*rows = atoi(PQcmdTuples(res));
	PQclear(res);
	return PGCONN_OK;
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
			int ok, held = 0;

			/* Before the hand-off, the claim renewed where it is
			 * still ours and has not run out (the batch's earlier
			 * hand-offs may have taken long): a notice another
			 * sender took meanwhile is left to it, never sent
			 * twice; and handed_at set, so a crash after it
			 * resends once (this claim), never twice. */
			rc =
			    pgcheck_notice_mark(pc, domain, ver,
			                        again ? PGCHECK_SQL_NOTICE_RENEW
			                              : PGCHECK_SQL_NOTICE_HAND,
			                        &held, err, errlen);
			if (rc != PGCONN_OK)
				break;
			if (held == 0) {
				log_line_init(&line);
				log_field_text(&line, "event",
				               "fleet-notice-lost");
				log_field(&line, "domain", domain);
				log_field(&line, "message_id",
				          PQgetvalue(res, i, 4));
				log_field_text(
				    &line, "reason",
				    "its claim ran out before the "
				    "hand-off; another sender has it");
				log_emit(LOG_WARNING, &line);
				continue;
			}
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
				    NULL, err, errlen);
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
				    NULL, err, errlen);
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
