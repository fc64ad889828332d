/*
 * replica.c - the daemon's LMDB kept a replica of PostgreSQL.
 *
 * SYNOPSIS
 *	int replica_start(out, st, cfg, on_applied, arg, err, errlen);
 *	bool replica_stop(rp, wait_seconds);
 *	int64_t replica_heard_ms(rp);
 *	bool replica_behind(rp, max_lag_s, now_ms);
 *
 * DESCRIPTION
 *	One thread, started only when StoreDSN is set, and the only one of
 *	the daemon that talks to PostgreSQL (the tables of docs/fleet.md:
 *	authready_clock, authready_registry, authready_state,
 *	authready_replicas).
 *
 *	Snapshot: when the store holds no replica position (a new store,
 *	or one that lost it), one REPEATABLE READ transaction reads the
 *	clock C and every registry and state row with version <= C, in
 *	version order through a binary cursor, REPLICA_FETCH_ROWS rows per
 *	LMDB batch; then registry entries PostgreSQL does not hold are
 *	removed, and position C is stored.  The position is forgotten in
 *	its own batch first, so a snapshot cut short is taken again.
 *
 *	Change stream: every writer takes the next clock version under the
 *	clock's row lock, so versions become visible in commit order and a
 *	catch-up that reads "version > position" in one snapshot never
 *	misses a row.  A catch-up runs after a NOTIFY on authready_changes,
 *	after every (re)connect (a NOTIFY sent while disconnected is lost)
 *	and every REPLICA_POLL_MS anyway.  The rows of a batch and the new
 *	position commit in one LMDB transaction; a batch that may end in
 *	the middle of one version stores the version before it.  A registry
 *	tombstone removes the entry and its state (as `domain remove`
 *	does); a state tombstone the state.  An entry that does not decode
 *	is logged and skipped.
 *
 *	A pass (a snapshot or a catch-up) that applied rows calls
 *	on_applied(arg, release) once they are committed: the daemon's
 *	checker thread wakes the MAIL FROMs waiting for a state (the check
 *	another checker made comes this way) and, with release (the pass
 *	applied a verified state while this host's held index holds
 *	anything), releases the held mail of the verified domains
 *	(checkerd_replica_applied): held mail stays on its host and is
 *	released whichever host's checker verified its domain.
 *
 *	Lag: every answer from PostgreSQL sets heard_ms (an atomic the
 *	milter threads read for ReplicaMaxLag) and, at most every
 *	REPLICA_HEARD_WRITE_MS, the store's copy (for `authready status`
 *	and the next start); authready_replicas gets this host's position
 *	and last_seen.
 *
 *	Schema: a schema version other than PGSCHEMA_VERSION (pgschema.h,
 *	the one `authready db init` and `db migrate` write) in
 *	authready_meta is refused like a lost connection (logged, retried
 *	with the backoff), so a newer schema is never misread.  It says
 *	what pgconn_check_schema() says to the CLI, but runs over this
 *	thread's own connection with a stop in view.
 *
 *	Connection: StoreDSN, StoreDSNPasswordFile (its first line, read
 *	once at the start with pgconn_password(), as the CLI's
 *	pgconn_open() reads it) and HostName (pgconn_host_name()) mean
 *	what they mean to the CLI; the connect itself is non-blocking
 *	(PQconnectStartParams), so that a stop never waits for it.
 *
 *	Trouble: any failure drops the connection; reconnects back off
 *	from REPLICA_BACKOFF_MIN_MS to REPLICA_BACKOFF_MAX_MS.  A store
 *	deleted under the daemon (store_replaced, checked before every
 *	catch-up) is made anew by store_reopen(), which moves the milter
 *	threads' readers and the checker to it, and a snapshot fills it;
 *	meanwhile the replica counts as not heard from (ReplicaMaxLag
 *	applies at once).  A store put in its place by someone else is not
 *	taken over: the daemon stops (smfi_stop) so that its next start
 *	opens it and takes a snapshot.
 *
 * DIAGNOSTICS
 *	event=replica-snapshot rows= removed= position= ms=;
 *	event=replica-apply rows= batches= position= ms= (one per catch-up
 *	that applied something); event=replica-lost error=;
 *	event=replica-reconnected position=; event=replica-corrupt;
 *	event=replica-store-lost (then a snapshot, or event=replica-stop).
 */
#include "replica.h"

#include <errno.h>
#include <libmilter/mfapi.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errbuf.h"
#include "log.h"
#include "pgconn.h"
#include "pgschema.h"
#include "storecodec.h"
#include "text.h"

#define REPLICA_ERR_MAX 512
#define REPLICA_SQL_MAX 1024

struct replica {
	struct store *st;
	char dsn[CONFIG_DSN_MAX];
	char
	    password[PGCONN_PASSWORD_MAX]; /* StoreDSNPasswordFile's; "" none */
	char host[CONFIG_HOST_NAME_MAX];
	char state_dir[PATH_MAX];
	int wake[2]; /* a byte on wake[1]: stop */
	_Atomic bool stopping;
	_Atomic int64_t heard_ms;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t done;
	bool exited;
	/* the thread's own */
	PGconn *pg;
	bool have_pos;
	int64_t pos;
	bool lost;       /* replica-lost logged, no reconnect since */
	int64_t written; /* heard_ms last stored in LMDB */
	unsigned backoff_ms;
	bool replicas_warned; /* authready_replicas refused our row */
	void (*on_applied)(void *arg, bool release); /* a pass applied rows */
	void *on_applied_arg;
	struct domain_reg reg; /* decoding room, off the stack */
	struct domain_state state;
};

/* What one pass over a cursor did. */
struct replica_pass {
	size_t rows, batches, removed;
	size_t verified; /* verified states applied */
	bool snapshot;
	char **live; /* snapshot: registry domains PostgreSQL holds */
	size_t nlive, caplive;
};

/* replica_now_ms - unix time in ms (it is stored and compared across
 * restarts, so the wall clock). */
static int64_t
replica_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* replica_oneline - libpq's messages (several lines, tabs) as one line
 * of words, in place. */
static char *
replica_oneline(char *msg)
{
	size_t n = 0;
	bool space = false;

	for (char *p = msg; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == ' ') {
			space = n > 0;
			continue;
		}
		if (space)
			msg[n++] = ' ';
		space = false;
		msg[n++] = *p;
	}
	msg[n] = '\0';
	return msg;
}

/* replica_log - one event line with an optional error sentence. */
static void
replica_log(int prio, const char *event, const char *error)
{
	char one[REPLICA_ERR_MAX];
	struct log_line line;

	log_line_init(&line);
	log_field(&line, "event", event);
	if (error != NULL) {
		text_copy(one, sizeof(one), error);
		log_field(&line, "error", replica_oneline(one));
	}
	log_emit(prio, &line);
}

/* replica_notice - libpq would print the server's notices on stderr
 * (the daemon's log without syslog): they are dropped, the errors that
 * matter come back from the calls. */
static void
replica_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* replica_pg_error - libpq's last message, one line. */
static const char *
replica_pg_error(PGconn *pg, char *buf, size_t size)
{
	text_copy(buf, size, pg != NULL ? PQerrorMessage(pg) : "out of memory");
	return replica_oneline(buf);
}

/* replica_sleep - wait ms or until a stop; true when stopping. */
static bool
replica_sleep(struct replica *rp, int ms)
{
	struct pollfd pfd = {.fd = rp->wake[0], .events = POLLIN};

	if (atomic_load(&rp->stopping))
		return true;
	(void)poll(&pfd, 1, ms);
	return atomic_load(&rp->stopping);
}

/* replica_wait_fd - wait for fd to be ready for events, a stop or
 * timeout_ms; 1 ready, 0 timeout, -1 stop or error. */
static int
replica_wait_fd(struct replica *rp, int fd, short events, int timeout_ms)
{
	struct pollfd pfd[2] = {{.fd = fd, .events = events},
	                        {.fd = rp->wake[0], .events = POLLIN}};
	int n;

	do
		n = poll(pfd, 2, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0 || pfd[1].revents != 0 || atomic_load(&rp->stopping))
		return -1;
	return n > 0 ? 1 : 0;
}

/* replica_connect - a connection (non-blocking connect, so a stop never
 * waits for it); 0 ok, -1 with err. */
static int
replica_connect(struct replica *rp, char *err, size_t errlen)
{
	const char *keys[5], *vals[5];
	PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
	uint64_t deadline = text_now_ms() + REPLICA_CONNECT_TIMEOUT_MS;
	int n = 0;

	keys[n] = "dbname", vals[n++] = rp->dsn;
	keys[n] = "application_name", vals[n++] = "authready-replica";
	if (rp->password[0] != '\0')
		keys[n] = "password", vals[n++] = rp->password;
	keys[n] = NULL, vals[n] = NULL;
	rp->pg = PQconnectStartParams(keys, vals, 1);
	if (rp->pg == NULL || PQstatus(rp->pg) == CONNECTION_BAD)
		goto fail;
	PQsetNoticeProcessor(rp->pg, replica_notice, NULL);
	while (ps != PGRES_POLLING_OK) {
		uint64_t now = text_now_ms();
		int w;

		if (ps == PGRES_POLLING_FAILED)
			goto fail;
		if (now >= deadline) {
			errbuf_fail(err, errlen, "connect: no answer in %d ms",
			            REPLICA_CONNECT_TIMEOUT_MS);
			goto drop;
		}
		w = replica_wait_fd(rp, PQsocket(rp->pg),
		                    ps == PGRES_POLLING_READING ? POLLIN
		                                                : POLLOUT,
		                    (int)(deadline - now));
		if (w < 0) {
			errbuf_fail(err, errlen, "stopping");
			goto drop;
		}
		ps = PQconnectPoll(rp->pg);
	}
	return 0;
fail:
	replica_pg_error(rp->pg, err, errlen);
drop:
	PQfinish(rp->pg);
	rp->pg = NULL;
	return -1;
}

/* replica_exec - run sql; 0 when it gave want, -1 with err. */
static int
replica_exec(struct replica *rp, const char *sql, ExecStatusType want,
             PGresult **out, char *err, size_t errlen)
{
	PGresult *res = PQexec(rp->pg, sql);

	if (res == NULL || PQresultStatus(res) != want) {
		if (res != NULL && PQresultErrorMessage(res)[0] != '\0')
			text_copy(err, errlen, PQresultErrorMessage(res));
		else
			replica_pg_error(rp->pg, err, errlen);
		PQclear(res);
		return -1;
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return 0;
}

/* replica_int8 - a binary int8 column. */
static int64_t
replica_int8(const PGresult *res, int row, int col)
{
	const unsigned char *p =
	    (const unsigned char *)PQgetvalue(res, row, col);
	uint64_t v = 0;

	if (PQgetlength(res, row, col) != 8)
		return -1;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}

/* replica_note_live - remember a registry domain of the snapshot. */
static int
replica_note_live(struct replica_pass *ps, const char *domain)
{
	if (ps->nlive == ps->caplive) {
		size_t cap = ps->caplive ? ps->caplive * 2 : 1024;
		char **grown = realloc(ps->live, cap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		ps->live = grown;
		ps->caplive = cap;
	}
	if ((ps->live[ps->nlive] = strdup(domain)) == NULL)
		return -1;
	ps->nlive++;
	return 0;
}

/* replica_corrupt - an entry PostgreSQL holds that does not decode. */
static void
replica_corrupt(const char *domain, const char *why)
{
	struct log_line line;

	log_line_init(&line);
	log_field(&line, "event", "replica-corrupt");
	log_field(&line, "domain", domain);
	log_field(&line, "error", why);
	log_emit(LOG_WARNING, &line);
}

/* replica_row - apply one row (kind, domain, entry, version, deleted)
 * in batch b; STORE_OK, or STORE_ERROR with err (store trouble). */
static int
replica_row(struct replica *rp, struct store_batch *b, struct replica_pass *ps,
            const PGresult *res, int i, char *err, size_t errlen)
{
	struct domain_state *state = &rp->state;
	struct domain_reg *reg = &rp->reg;
	const char *kind = PQgetvalue(res, i, 0);
	const char *domain = PQgetvalue(res, i, 1);
	const unsigned char *entry =
	    (const unsigned char *)PQgetvalue(res, i, 2);
	size_t len = (size_t)PQgetlength(res, i, 2);
	bool deleted = PQgetlength(res, i, 4) == 1 && PQgetvalue(res, i, 4)[0];
	char why[REPLICA_ERR_MAX];
	int rc;

	if (PQgetisnull(res, i, 2))
		deleted = true;
	if (domain[0] == '\0' || strlen(domain) > DOMAIN_MAX) {
		replica_corrupt(domain, "not a domain the store can hold");
		return STORE_OK; /* skipped, never a reason to stop */
	}
	if (kind[0] == 'r' && deleted) {
		rc = store_batch_del_reg(b, domain, err, errlen);
		if (rc == STORE_OK || rc == STORE_NOTFOUND)
			rc = store_batch_del_state(b, domain, err, errlen);
	} else if (kind[0] == 's' && deleted) {
		rc = store_batch_del_state(b, domain, err, errlen);
	} else if (kind[0] == 'r') {
		if (storecodec_reg_decode(entry, len, reg, why, sizeof(why)) !=
		    0) {
			replica_corrupt(domain, why);
			return STORE_OK;
		}
		if (strcmp(reg->domain, domain) != 0) {
			replica_corrupt(domain, "entry names another domain");
			return STORE_OK;
		}
		if (ps->snapshot && replica_note_live(ps, domain) != 0)
			return errbuf_code(err, errlen, STORE_ERROR,
			                   "out of memory");
		rc = store_batch_put_reg(b, reg, err, errlen);
	} else {
		if (storecodec_state_decode(entry, len, state, why,
		                            sizeof(why)) != 0) {
			replica_corrupt(domain, why);
			return STORE_OK;
		}
		if (strcmp(state->domain, domain) != 0) {
			replica_corrupt(domain, "entry names another domain");
			return STORE_OK;
		}
		rc = store_batch_put_state(b, state, err, errlen);
		if (rc == STORE_OK && state->state == READINESS_VERIFIED)
			ps->verified++;
	}
	return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

/* replica_batch - apply one FETCH in one LMDB batch; the position it
 * reaches (when set_pos) is stored in the same batch. */
static int
replica_batch(struct replica *rp, struct replica_pass *ps, const PGresult *res,
              bool set_pos, int64_t pos, char *err, size_t errlen)
{
	struct store_replica meta = {pos, atomic_load(&rp->heard_ms)};
	struct store_batch *b;
	int n = PQntuples(res), rc = STORE_OK;

	if (store_batch_begin(rp->st, &b, err, errlen) != STORE_OK)
		return -1;
	for (int i = 0; i < n && rc == STORE_OK; i++)
		rc = replica_row(rp, b, ps, res, i, err, errlen);
	if (rc == STORE_OK && set_pos)
		rc = store_batch_put_replica(b, &meta, err, errlen);
	if (rc != STORE_OK) {
		store_batch_abort(b);
		return -1;
	}
	if (store_batch_commit(b, err, errlen) != STORE_OK)
		return -1;
	if (set_pos) {
		rp->have_pos = true;
		rp->pos = pos;
		rp->written = meta.heard_ms;
	}
	ps->rows += (size_t)n;
	ps->batches++;
	return 0;
}

/* replica_heard - PostgreSQL answered.  Not while a snapshot is being
 * taken: until it is whole, the registry may lack any domain. */
static void
replica_heard(struct replica *rp)
{
	if (rp->have_pos)
		atomic_store(&rp->heard_ms, replica_now_ms());
}

/* replica_cursor - the rows of both tables with from < version <= to, in
 * version order, a FETCH at a time; 0 ok, -1 with err.  Runs inside the
 * caller's REPEATABLE READ transaction. */
static int
replica_cursor(struct replica *rp, struct replica_pass *ps, int64_t from,
               int64_t to, char *err, size_t errlen)
{
	char sql[REPLICA_SQL_MAX];
	PGresult *res;

	snprintf(sql, sizeof(sql),
	         "DECLARE authready_rows BINARY NO SCROLL CURSOR FOR "
	         "SELECT 'r'::text, domain, entry, version, deleted "
	         "FROM authready_registry WHERE version > %lld AND version "
	         "<= %lld UNION ALL "
	         "SELECT 's'::text, domain, entry, version, deleted "
	         "FROM authready_state WHERE version > %lld AND version "
	         "<= %lld ORDER BY 4, 1",
	         (long long)from, (long long)to, (long long)from,
	         (long long)to);
	if (replica_exec(rp, sql, PGRES_COMMAND_OK, NULL, err, errlen) != 0)
		return -1;
	snprintf(sql, sizeof(sql), "FETCH FORWARD %d FROM authready_rows",
	         REPLICA_FETCH_ROWS);
	for (;;) {
		int n;
		int64_t pos;
		bool last;

		if (atomic_load(&rp->stopping))
			return errbuf_fail(err, errlen, "stopping");
		if (replica_exec(rp, sql, PGRES_TUPLES_OK, &res, err, errlen) !=
		    0)
			return -1;
		replica_heard(rp);
		n = PQntuples(res);
		last = n < REPLICA_FETCH_ROWS;
		/* rows of one version may go on in the next FETCH */
		pos = last ? to : replica_int8(res, n - 1, 3) - 1;
		if (pos < from)
			pos = from;
		if ((n > 0 || (last && !ps->snapshot)) &&
		    replica_batch(rp, ps, res, !ps->snapshot, pos, err,
		                  errlen) != 0) {
			PQclear(res);
			return -1;
		}
		PQclear(res);
		if (last)
			return 0;
	}
}

/* replica_live_cmp - qsort/bsearch order of the snapshot's domains. */
static int
replica_live_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The removal walk: registry keys PostgreSQL does not hold. */
struct replica_gone {
	struct replica_pass *ps;
	char **gone;
	size_t n, cap;
	bool nomem;
};

/* replica_gone_step - note a local entry absent from the snapshot. */
static int
replica_gone_step(void *ctx, const struct domain_reg *reg)
{
	struct replica_gone *g = ctx;
	const char *key = reg->domain;

	/* An empty snapshot has no array: bsearch and qsort take none. */
	if (g->ps->nlive > 0 &&
	    bsearch(&key, g->ps->live, g->ps->nlive, sizeof(char *),
	            replica_live_cmp) != NULL)
		return 0;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 64;
		char **grown = realloc(g->gone, cap * sizeof(*grown));

		if (grown == NULL) {
			g->nomem = true;
			return 1;
		}
		g->gone = grown;
		g->cap = cap;
	}
	if ((g->gone[g->n] = strdup(reg->domain)) == NULL) {
		g->nomem = true;
		return 1;
	}
	g->n++;
	return 0;
}

/* replica_mirror - remove registry entries (and their states) that the
 * snapshot does not hold, and store the position, in one batch. */
static int
replica_mirror(struct replica *rp, struct replica_pass *ps, int64_t pos,
               char *err, size_t errlen)
{
	struct replica_gone g = {.ps = ps};
	struct store_replica meta = {pos, replica_now_ms()};
	struct store_batch *b = NULL;
	size_t ncorrupt = 0;
	int rc;

	if (ps->nlive > 1)
		qsort(ps->live, ps->nlive, sizeof(char *), replica_live_cmp);
	rc = store_reg_iter(rp->st, replica_gone_step, &g, &ncorrupt, err,
	                    errlen);
	if (rc == STORE_OK && g.nomem)
		rc = errbuf_code(err, errlen, STORE_ERROR, "out of memory");
	if (rc == STORE_OK)
		rc = store_batch_begin(rp->st, &b, err, errlen);
	for (size_t i = 0; i < g.n && rc == STORE_OK; i++) {
		rc = store_batch_del_reg(b, g.gone[i], err, errlen);
		if (rc == STORE_OK || rc == STORE_NOTFOUND)
			rc = store_batch_del_state(b, g.gone[i], err, errlen);
		if (rc == STORE_NOTFOUND)
			rc = STORE_OK;
	}
	if (rc == STORE_OK)
		rc = store_batch_put_replica(b, &meta, err, errlen);
	if (rc == STORE_OK)
		rc = store_batch_commit(b, err, errlen);
	else
		store_batch_abort(b);
	for (size_t i = 0; i < g.n; i++)
		free(g.gone[i]);
	free(g.gone);
	if (rc != STORE_OK)
		return -1;
	ps->removed = g.n;
	rp->have_pos = true;
	rp->pos = pos;
	rp->written = meta.heard_ms;
	atomic_store(&rp->heard_ms, meta.heard_ms);
	return 0;
}

/* replica_pass_free - the snapshot's list of domains. */
static void
replica_pass_free(struct replica_pass *ps)
{
	for (size_t i = 0; i < ps->nlive; i++)
		free(ps->live[i]);
	free(ps->live);
	ps->live = NULL;
	ps->nlive = ps->caplive = 0;
}

/* replica_forget - drop the stored position (a snapshot begins). */
static int
replica_forget(struct replica *rp, char *err, size_t errlen)
{
	struct store_batch *b;

	if (store_batch_begin(rp->st, &b, err, errlen) != STORE_OK)
		return -1;
	if (store_batch_del_replica(b, err, errlen) != STORE_OK) {
		store_batch_abort(b);
		return -1;
	}
	rp->have_pos = false;
	return store_batch_commit(b, err, errlen) == STORE_OK ? 0 : -1;
}

/* replica_applied - the pass (committed to LMDB) applied rows: waiters
 * look again; with verified states, held mail here may be released (the
 * store's held index is looked at first, so a host with nothing held
 * asks for no release). */
static void
replica_applied(struct replica *rp, const struct replica_pass *ps)
{
	char err[REPLICA_ERR_MAX];
	size_t held = 0;
	bool release = false;

	if (ps->rows == 0 || rp->on_applied == NULL)
		return;
	/* a held index that cannot be counted: the checker thread looks */
	if (ps->verified > 0)
		release = store_held_count(rp->st, &held, err, sizeof(err)) !=
		              STORE_OK ||
		          held > 0;
	rp->on_applied(rp->on_applied_arg, release);
}

/* replica_sync - a snapshot (no position) or a catch-up, in one
 * REPEATABLE READ transaction; 0 ok, -1 with err (connection or store
 * trouble: the caller reconnects). */
static int
replica_sync(struct replica *rp, char *err, size_t errlen)
{
	struct replica_pass ps = {.snapshot = !rp->have_pos};
	uint64_t t0 = text_now_ms();
	PGresult *res;
	int64_t clock, from = rp->have_pos ? rp->pos : INT64_MIN;
	int rc = -1;

	if (ps.snapshot && replica_forget(rp, err, errlen) != 0)
		return -1;
	if (replica_exec(rp, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	                 PGRES_COMMAND_OK, NULL, err, errlen) != 0)
		return -1;
	if (replica_exec(rp, "SELECT version FROM authready_clock WHERE id = 1",
	                 PGRES_TUPLES_OK, &res, err, errlen) != 0)
		goto out;
	replica_heard(rp);
	if (PQntuples(res) != 1) {
		PQclear(res);
		errbuf_fail(err, errlen, "authready_clock has no row");
		goto out;
	}
	clock = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (!ps.snapshot && clock <= rp->pos) {
		rc = 0; /* nothing new */
		goto out;
	}
	if (replica_cursor(rp, &ps, from, clock, err, errlen) != 0 ||
	    (ps.snapshot && replica_mirror(rp, &ps, clock, err, errlen) != 0))
		goto out;
	rc = 0;
	if (ps.snapshot)
		log_msg(LOG_NOTICE,
		        "event=replica-snapshot rows=%zu removed=%zu "
		        "position=%lld ms=%llu",
		        ps.rows, ps.removed, (long long)clock,
		        (unsigned long long)(text_now_ms() - t0));
	else
		log_msg(
		    LOG_INFO,
		    "event=replica-apply rows=%zu batches=%zu position=%lld "
		    "ms=%llu",
		    ps.rows, ps.batches, (long long)clock,
		    (unsigned long long)(text_now_ms() - t0));
	replica_applied(rp, &ps);
out:
	replica_pass_free(&ps);
	if (rc == 0)
		return replica_exec(rp, "COMMIT", PGRES_COMMAND_OK, NULL, err,
		                    errlen);
	PQclear(PQexec(rp->pg, "ROLLBACK"));
	return rc;
}

/* replica_report - this host's row in authready_replicas; a refusal
 * (a missing GRANT) is logged once and is no reason to reconnect. */
static int
replica_report(struct replica *rp, char *err, size_t errlen)
{
	char pos[24];
	const char *params[2] = {rp->host, pos};
	PGresult *res;

	snprintf(pos, sizeof(pos), "%lld", (long long)rp->pos);
	res = PQexecParams(
	    rp->pg,
	    "INSERT INTO authready_replicas (host, position, last_seen) "
	    "VALUES ($1, $2, now()) ON CONFLICT (host) DO UPDATE SET "
	    "position = excluded.position, last_seen = excluded.last_seen",
	    2, NULL, params, NULL, NULL, 0);
	if (res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK) {
		PQclear(res);
		replica_heard(rp);
		return 0;
	}
	replica_pg_error(rp->pg, err, errlen);
	PQclear(res);
	if (PQstatus(rp->pg) == CONNECTION_BAD)
		return -1;
	if (!rp->replicas_warned)
		replica_log(LOG_WARNING, "replica-report-refused", err);
	rp->replicas_warned = true;
	return 0;
}

/* replica_keep_heard - the last heard time into the store, now and then. */
static void
replica_keep_heard(struct replica *rp)
{
	struct store_replica meta = {rp->pos, atomic_load(&rp->heard_ms)};
	struct store_batch *b;
	char err[REPLICA_ERR_MAX];

	if (!rp->have_pos ||
	    meta.heard_ms - rp->written < REPLICA_HEARD_WRITE_MS)
		return;
	if (store_batch_begin(rp->st, &b, err, sizeof(err)) != STORE_OK)
		return;
	if (store_batch_put_replica(b, &meta, err, sizeof(err)) != STORE_OK) {
		store_batch_abort(b);
		return;
	}
	if (store_batch_commit(b, err, sizeof(err)) == STORE_OK)
		rp->written = meta.heard_ms;
}

/* replica_drop - the connection is gone; say so once. */
static void
replica_drop(struct replica *rp, const char *why)
{
	PQfinish(rp->pg);
	rp->pg = NULL;
	if (!rp->lost)
		replica_log(LOG_WARNING, "replica-lost", why);
	rp->lost = true;
}

/* replica_listen - wait for a NOTIFY, a stop or REPLICA_POLL_MS; 0 go
 * on (catch up), -1 connection trouble (err), 1 stopping. */
static int
replica_listen(struct replica *rp, char *err, size_t errlen)
{
	PGnotify *nf;
	int w = replica_wait_fd(rp, PQsocket(rp->pg), POLLIN, REPLICA_POLL_MS);

	if (w < 0)
		return atomic_load(&rp->stopping) ? 1 : -1;
	if (w > 0 && !PQconsumeInput(rp->pg)) {
		replica_pg_error(rp->pg, err, errlen);
		return -1;
	}
	while ((nf = PQnotifies(rp->pg)) != NULL)
		PQfreemem(nf); /* the payload is a hint: catch up by version */
	return 0;
}

/* replica_store_lost - the store was deleted under the daemon: a new
 * one, and a snapshot into it; when that cannot be (a store put in its
 * place, no room), the daemon stops so that its next start makes it.
 * 0 go on, -1 stopping. */
static int
replica_store_lost(struct replica *rp)
{
	char err[REPLICA_ERR_MAX];

	if (store_reopen(rp->st, rp->state_dir, err, sizeof(err)) == STORE_OK) {
		replica_log(LOG_ERR, "replica-store-lost",
		            "the state store was deleted under the daemon: "
		            "a new store, and a new snapshot");
		rp->have_pos = false;
		atomic_store(&rp->heard_ms, 0);
		return 0;
	}
	replica_log(LOG_ERR, "replica-store-lost", err);
	replica_log(LOG_ERR, "replica-stop",
	            "the state store was replaced under the daemon: "
	            "stopping, so that the next start takes a new snapshot");
	atomic_store(&rp->stopping, true);
	smfi_stop();
	return -1;
}

/* replica_schema - refuse a schema this program does not know (a
 * newer one may mean rows it would misread); 0 ok, -1 with err. */
static int
replica_schema(struct replica *rp, char *err, size_t errlen)
{
	PGresult *res;
	long long v;

	if (replica_exec(rp,
	                 "SELECT value FROM authready_meta WHERE key = "
	                 "'schema_version'",
	                 PGRES_TUPLES_OK, &res, err, errlen) != 0)
		return -1;
	v = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	if (v == PGSCHEMA_VERSION)
		return 0;
	if (v > PGSCHEMA_VERSION)
		return errbuf_fail(err, errlen,
		                   "schema version %lld is newer than this "
		                   "authready (%d): upgrade authready",
		                   v, PGSCHEMA_VERSION);
	return errbuf_fail(err, errlen,
	                   "schema version %lld is older than this authready "
	                   "(%d): run authready db migrate",
	                   v, PGSCHEMA_VERSION);
}

/* replica_session - one connection's life: LISTEN, sync, then follow. */
static void
replica_session(struct replica *rp)
{
	char err[REPLICA_ERR_MAX];
	int rc;

	if (replica_schema(rp, err, sizeof(err)) != 0 ||
	    replica_exec(rp, "LISTEN " REPLICA_CHANNEL, PGRES_COMMAND_OK, NULL,
	                 err, sizeof(err)) != 0) {
		replica_drop(rp, err);
		return;
	}
	for (;;) {
		if (store_replaced(rp->st, rp->state_dir) &&
		    replica_store_lost(rp) != 0)
			return;
		if (replica_sync(rp, err, sizeof(err)) != 0 ||
		    replica_report(rp, err, sizeof(err)) != 0) {
			replica_drop(rp, err);
			return;
		}
		if (rp->lost) {
			log_msg(LOG_NOTICE,
			        "event=replica-reconnected position=%lld",
			        (long long)rp->pos);
			rp->lost = false;
		}
		rp->backoff_ms = 0;
		replica_keep_heard(rp);
		if ((rc = replica_listen(rp, err, sizeof(err))) != 0) {
			if (rc < 0)
				replica_drop(rp, err);
			return;
		}
	}
}

/* replica_main - connect, follow, reconnect with backoff until a stop. */
static void *
replica_main(void *arg)
{
	struct replica *rp = arg;
	char err[REPLICA_ERR_MAX];

	while (!atomic_load(&rp->stopping)) {
		if (replica_connect(rp, err, sizeof(err)) == 0) {
			replica_session(rp);
			if (rp->pg != NULL) {
				PQfinish(rp->pg);
				rp->pg = NULL;
			}
			if (atomic_load(&rp->stopping))
				break;
		} else if (!atomic_load(&rp->stopping)) {
			if (!rp->lost)
				replica_log(LOG_WARNING, "replica-lost", err);
			rp->lost = true;
		}
		rp->backoff_ms = rp->backoff_ms == 0 ? REPLICA_BACKOFF_MIN_MS
		                                     : rp->backoff_ms * 2;
		if (rp->backoff_ms > REPLICA_BACKOFF_MAX_MS)
			rp->backoff_ms = REPLICA_BACKOFF_MAX_MS;
		if (replica_sleep(rp, (int)rp->backoff_ms))
			break;
	}
	pthread_mutex_lock(&rp->lock);
	rp->exited = true;
	pthread_cond_broadcast(&rp->done);
	pthread_mutex_unlock(&rp->lock);
	return NULL;
}

/* replica_config - what the config says as pgconn_open() reads it: a
 * StoreDSN libpq can parse, the password file's first line, HostName or
 * gethostname(); 0 ok, -1 with err (a config error: the daemon does not
 * start). */
static int
replica_config(struct replica *rp, const struct config *cfg, char *err,
               size_t errlen)
{
	char *parse_err = NULL;
	PQconninfoOption *opts;

	if ((opts = PQconninfoParse(cfg->store_dsn, &parse_err)) == NULL) {
		errbuf_fail(err, errlen, "StoreDSN is malformed: %s",
		            parse_err != NULL ? replica_oneline(parse_err)
		                              : "out of memory");
		PQfreemem(parse_err);
		return -1;
	}
	PQconninfoFree(opts);
	if (cfg->store_dsn_password_file[0] != '\0' &&
	    pgconn_password(cfg->store_dsn_password_file, rp->password,
	                    sizeof(rp->password), err, errlen) != PGCONN_OK)
		return -1;
	return pgconn_host_name(cfg, rp->host, sizeof(rp->host), err, errlen);
}

int
replica_start(struct replica **out, struct store *st, const struct config *cfg,
              void (*on_applied)(void *arg, bool release), void *arg, char *err,
              size_t errlen)
{
	struct replica *rp;
	struct store_replica meta;
	char why[REPLICA_ERR_MAX];
	int rc;

	*out = NULL;
	if ((rp = calloc(1, sizeof(*rp))) == NULL)
		return errbuf_fail(err, errlen, "replica: out of memory");
	rp->st = st;
	rp->on_applied = on_applied;
	rp->on_applied_arg = arg;
	text_copy(rp->dsn, sizeof(rp->dsn), cfg->store_dsn);
	text_copy(rp->state_dir, sizeof(rp->state_dir), cfg->state_dir);
	if (replica_config(rp, cfg, err, errlen) != 0) {
		explicit_bzero(rp->password, sizeof(rp->password));
		free(rp);
		return -1;
	}
	rc = store_replica_get(st, &meta, why, sizeof(why));
	if (rc == STORE_OK) {
		rp->have_pos = true;
		rp->pos = meta.position;
		rp->written = meta.heard_ms;
		atomic_store(&rp->heard_ms, meta.heard_ms);
	} else if (rc != STORE_NOTFOUND) {
		/* an unreadable position: take a snapshot */
		replica_log(LOG_WARNING, "replica-position-unreadable", why);
	}
	pthread_mutex_init(&rp->lock, NULL);
	pthread_cond_init(&rp->done, NULL);
	if (pipe(rp->wake) != 0) {
		explicit_bzero(rp->password, sizeof(rp->password));
		free(rp);
		return errbuf_fail(err, errlen, "replica: pipe: %s",
		                   strerror(errno));
	}
	if ((rc = pthread_create(&rp->thread, NULL, replica_main, rp)) != 0) {
		close(rp->wake[0]);
		close(rp->wake[1]);
		explicit_bzero(rp->password, sizeof(rp->password));
		free(rp);
		return errbuf_fail(err, errlen, "replica: thread: %s",
		                   strerror(rc));
	}
	(void)pthread_setname_np(rp->thread, "ar-replica"); /* top -H */
	*out = rp;
	return 0;
}

bool
replica_stop(struct replica *rp, int wait_seconds)
{
	struct timespec deadline;
	bool exited;
	char c = 's';

	if (rp == NULL)
		return true;
	atomic_store(&rp->stopping, true);
	if (write(rp->wake[1], &c, 1) != 1) {
		/* the flag alone ends the thread at its next wait */
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += wait_seconds;
	pthread_mutex_lock(&rp->lock);
	while (!rp->exited &&
	       pthread_cond_timedwait(&rp->done, &rp->lock, &deadline) == 0)
		;
	exited = rp->exited;
	pthread_mutex_unlock(&rp->lock);
	if (!exited)
		return false;
	pthread_join(rp->thread, NULL);
	close(rp->wake[0]);
	close(rp->wake[1]);
	pthread_mutex_destroy(&rp->lock);
	pthread_cond_destroy(&rp->done);
	explicit_bzero(rp->password, sizeof(rp->password));
	free(rp);
	return true;
}

int64_t
replica_heard_ms(const struct replica *rp)
{
	return rp != NULL ? atomic_load(&rp->heard_ms) : 0;
}

bool
replica_behind(const struct replica *rp, int64_t max_lag_s, int64_t now_ms)
{
	if (rp == NULL)
		return false;
	return now_ms - replica_heard_ms(rp) >= max_lag_s * 1000;
}
