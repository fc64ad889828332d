/*
 * pgschema.c - the PostgreSQL schema of a fleet, and its migrations.
 *
 * SYNOPSIS
 *	int pgschema_init(PGconn *conn, char *err, size_t errlen);
 *	int pgschema_migrate(PGconn *conn, int64_t *from, int64_t *to,
 *	    char *err, size_t errlen);
 *	size_t pgschema_steps(void);
 *	const char *pgschema_grants(void);
 *
 * DESCRIPTION
 *	The schema is a table of steps: pgschema_steps_table[i] moves a
 *	database from version i to version i + 1, as a list of statements.
 *	A new version appends one step and raises PGSCHEMA_VERSION; a step
 *	is never edited once released.  Version 1:
 *
 *	authready_meta (key, value): 'schema_version' -> the version.
 *	authready_clock (id = 1, version): every writing transaction takes
 *	    the next version with UPDATE ... RETURNING; the row lock is held
 *	    to commit, so versions become visible in commit order and a
 *	    replica that has applied every version <= V never later sees a
 *	    new row with a version <= V.
 *	authready_registry (domain, entry, version, deleted): entry is
 *	    storecodec_reg_encode(); a removed domain keeps a tombstone
 *	    (entry NULL, deleted true) with the version of its removal.
 *	authready_state (domain, entry, readiness, version, deleted): entry
 *	    is storecodec_state_encode(); readiness is for people.
 *	authready_replicas (host, position, last_seen): each replica's
 *	    highest applied version.
 *
 *	Version 2 (the checkers, pgcheck.c):
 *
 *	authready_checks (domain, next_check, checked, lease_owner,
 *	    lease_until, lease_token): when each registered domain is due,
 *	    and which checker holds it; lease_token comes from the sequence
 *	    authready_lease_token, and a write-back is fenced by it.
 *	authready_notices (domain, verified_version, message_id, message,
 *	    created, claimed_by, claimed_until, handed_at, sent_at): the
 *	    confirmation mails, written with the state that verified.
 *
 *	Version 3 (webhooks, pgoutbox.c):
 *
 *	authready_webhook_outbox (seq, domain, event, created, claimed_by,
 *	    claimed_until): the webhook events (event is the JSON body),
 *	    inserted in the transaction of their change while it holds the
 *	    clock row, so seq (a bigserial) is in commit order; a host's
 *	    webhookd claims a domain's events with a lease and deletes them
 *	    once delivered.
 *
 *	Version 4 (a refresh's cost, bench/bench_fleet.sh): no index on
 *	authready_checks (next_check) (a claim walks the primary key; the
 *	index made every write-back of a check a new tuple with two index
 *	entries), and free room in the pages of authready_checks
 *	(fillfactor 50) and authready_state (70), so that a claim's lease
 *	and a write-back's next check are HOT updates in place.
 *
 *	Version 5 (a claim's and a checker's start's cost): authready_checks
 *	holds a row for each registered domain and no other, kept by the
 *	registry's writes (pgreg.c) in their own transactions: an add
 *	inserts it (due at once), a removal deletes it.  The step makes it
 *	so of what is there, under the clock's lock (every registry writer
 *	takes it first, an older authready's too).  A row missing all the
 *	same is made by a request for a check of the domain (pgreg_check_row:
 *	`authready refresh DOMAIN`, a MAIL FROM miss, POST
 *	/v1/domains/DOMAIN/refresh); a row of a
 *	domain not registered is let go and never due by the claim that
 *	finds it (pgcheck.c).  Before, each checker's round added the
 *	missing rows (an anti-join of the two tables) and each claim joined
 *	the registry to pass over removed domains.
 *
 *	After each writing transaction the writer runs NOTIFY
 *	authready_changes with the version as payload, inside it
 *	(pgreg.c).
 *
 *	Each step runs in its own transaction under an advisory lock and
 *	re-reads the version inside it, so concurrent `db migrate` runs
 *	apply a step once.
 *
 * DIAGNOSTICS
 *	pgconn statuses (pgconn.h) with a message in err.
 */
#include "pgschema.h"

#include <inttypes.h>
#include <stdio.h>

#include "errbuf.h"
#include "pgconn.h"

#define PGSCHEMA_LOCK "SELECT pg_advisory_xact_lock(7411500001)"
#define PGSCHEMA_STATEMENTS_MAX 16

struct pgschema_step {
	const char *what;
	const char *sql[PGSCHEMA_STATEMENTS_MAX]; /* NULL-terminated */
};

static const struct pgschema_step pgschema_steps_table[] = {
    {"version 1: meta, clock, registry, state, replicas",
     {"CREATE TABLE authready_meta ("
      " key text PRIMARY KEY,"
      " value text NOT NULL)",
      "CREATE TABLE authready_clock ("
      " id int PRIMARY KEY CHECK (id = 1),"
      " version bigint NOT NULL)",
      "INSERT INTO authready_clock (id, version) VALUES (1, 0)",
      "CREATE TABLE authready_registry ("
      " domain text PRIMARY KEY,"
      " entry bytea,"
      " version bigint NOT NULL,"
      " deleted boolean NOT NULL DEFAULT false)",
      "CREATE INDEX authready_registry_version"
      " ON authready_registry (version)",
      "CREATE TABLE authready_state ("
      " domain text PRIMARY KEY,"
      " entry bytea,"
      " readiness text NOT NULL,"
      " version bigint NOT NULL,"
      " deleted boolean NOT NULL DEFAULT false)",
      "CREATE INDEX authready_state_version ON authready_state (version)",
      "CREATE TABLE authready_replicas ("
      " host text PRIMARY KEY,"
      " position bigint NOT NULL,"
      " last_seen timestamptz NOT NULL)",
      NULL}},
    {"version 2: checks with leases, notices",
     {"CREATE TABLE authready_checks ("
      " domain text PRIMARY KEY,"
      " next_check timestamptz NOT NULL DEFAULT '-infinity',"
      " checked timestamptz,"
      " lease_owner text,"
      " lease_until timestamptz,"
      " lease_token bigint)",
      "CREATE INDEX authready_checks_next ON authready_checks (next_check)",
      "CREATE SEQUENCE authready_lease_token",
      "CREATE TABLE authready_notices ("
      " domain text NOT NULL,"
      " verified_version bigint NOT NULL,"
      " message_id text NOT NULL,"
      " message text NOT NULL,"
      " created timestamptz NOT NULL DEFAULT now(),"
      " claimed_by text,"
      " claimed_until timestamptz,"
      " handed_at timestamptz,"
      " sent_at timestamptz,"
      " PRIMARY KEY (domain, verified_version))",
      "CREATE INDEX authready_notices_unsent ON authready_notices (created)"
      " WHERE sent_at IS NULL",
      NULL}},
    {"version 3: the webhook outbox",
     {"CREATE TABLE authready_webhook_outbox ("
      " seq bigserial PRIMARY KEY,"
      " domain text NOT NULL,"
      " event text NOT NULL,"
      " created timestamptz NOT NULL DEFAULT now(),"
      " claimed_by text,"
      " claimed_until timestamptz)",
      "CREATE INDEX authready_webhook_outbox_domain"
      " ON authready_webhook_outbox (domain, seq)",
      NULL}},
    {"version 4: the checkers' rows updated in place",
     {"DROP INDEX IF EXISTS authready_checks_next",
      "ALTER TABLE authready_checks SET (fillfactor = 50)",
      "ALTER TABLE authready_state SET (fillfactor = 70)", NULL}},
    {"version 5: a row in authready_checks for each registered domain",
     {"SELECT 1 FROM authready_clock WHERE id = 1 FOR UPDATE",
      "DELETE FROM authready_checks c WHERE NOT EXISTS (SELECT 1 FROM "
      "authready_registry r WHERE r.domain = c.domain AND NOT r.deleted)",
      "INSERT INTO authready_checks (domain) SELECT domain FROM "
      "authready_registry WHERE NOT deleted ON CONFLICT (domain) DO NOTHING",
      NULL}},
};

#define PGSCHEMA_NSTEPS                                                        \
	(sizeof(pgschema_steps_table) / sizeof(*pgschema_steps_table))

_Static_assert(PGSCHEMA_NSTEPS == PGSCHEMA_VERSION,
               "one migration step per schema version");

static const char pgschema_grants_text[] =
    "-- Run as the owner of the schema (authready_admin) after\n"
    "-- authready db init.  The roles are made once by a superuser:\n"
    "--   CREATE ROLE authready_admin LOGIN;\n"
    "--   CREATE ROLE authready_checker LOGIN;\n"
    "--   CREATE ROLE authready_replica LOGIN;\n"
    "--   CREATE DATABASE authready OWNER authready_admin;\n"
    "-- A milter host runs a replica and a checker: the role it logs in\n"
    "-- as needs both, e.g. GRANT authready_checker, authready_replica\n"
    "-- TO authready_host;\n"
    "GRANT SELECT ON authready_meta, authready_clock, authready_registry\n"
    "    TO authready_checker, authready_replica;\n"
    "GRANT UPDATE ON authready_clock TO authready_checker;\n"
    "GRANT SELECT, INSERT, UPDATE ON authready_state TO authready_checker;\n"
    "GRANT SELECT ON authready_state TO authready_replica;\n"
    "GRANT SELECT, INSERT, UPDATE ON authready_replicas TO "
    "authready_replica;\n"
    "GRANT SELECT, INSERT, UPDATE ON authready_checks, authready_notices\n"
    "    TO authready_checker;\n"
    "GRANT USAGE ON SEQUENCE authready_lease_token TO authready_checker;\n"
    "-- Webhook events: written with the states (checkers) and removals\n"
    "-- (admin), claimed and deleted by every host's webhookd (replica).\n"
    "GRANT SELECT, INSERT, UPDATE, DELETE ON authready_webhook_outbox\n"
    "    TO authready_checker, authready_replica;\n"
    "GRANT USAGE ON SEQUENCE authready_webhook_outbox_seq_seq\n"
    "    TO authready_checker, authready_replica;\n";

size_t
pgschema_steps(void)
{
	return PGSCHEMA_NSTEPS;
}

const char *
pgschema_grants(void)
{
	return pgschema_grants_text;
}

/* pgschema_set_version - record version in authready_meta. */
static int
pgschema_set_version(PGconn *conn, int64_t version, char *err, size_t errlen)
{
	char text[32];
	const char *values[1] = {text};

	snprintf(text, sizeof(text), "%" PRId64, version);
	return pgconn_exec(conn, "recording the schema version",
	                   "INSERT INTO authready_meta (key, value) "
	                   "VALUES ('schema_version', $1) ON CONFLICT (key) "
	                   "DO UPDATE SET value = EXCLUDED.value",
	                   1, values, NULL, NULL, NULL, err, errlen);
}

/*
 * pgschema_step - in one transaction under the lock: when the version
 * is still from, apply the step from -> from + 1.  *now: the version
 * found (or reached).
 */
static int
pgschema_step(PGconn *conn, int64_t from, int64_t *now, char *err,
              size_t errlen)
{
	const struct pgschema_step *step = &pgschema_steps_table[from];
	char what[256];
	size_t i;
	int rc;

	if ((rc = pgconn_exec(conn, "BEGIN", "BEGIN", 0, NULL, NULL, NULL, NULL,
	                      err, errlen)) != PGCONN_OK)
		return rc;
	if ((rc = pgconn_exec(conn, "the migration lock", PGSCHEMA_LOCK, 0,
	                      NULL, NULL, NULL, NULL, err, errlen)) !=
	        PGCONN_OK ||
	    (rc = pgconn_schema_version(conn, now, err, errlen)) != PGCONN_OK)
		goto fail;
	if (*now != from) { /* another run moved it meanwhile */
		pgconn_rollback(conn);
		return PGCONN_OK;
	}
	snprintf(what, sizeof(what), "schema %s", step->what);
	for (i = 0; step->sql[i] != NULL; i++)
		if ((rc = pgconn_exec(conn, what, step->sql[i], 0, NULL, NULL,
		                      NULL, NULL, err, errlen)) != PGCONN_OK)
			goto fail;
	if ((rc = pgschema_set_version(conn, from + 1, err, errlen)) !=
	        PGCONN_OK ||
	    (rc = pgconn_commit(conn, err, errlen)) != PGCONN_OK)
		goto fail;
	*now = from + 1;
	return PGCONN_OK;
fail:
	pgconn_rollback(conn);
	return rc;
}

/* pgschema_newer - the refusal of a schema this program does not know. */
static int
pgschema_newer(int64_t version, char *err, size_t errlen)
{
	return errbuf_code(err, errlen, PGCONN_CONFIG,
	                   "schema version %" PRId64
	                   " is newer than this authready (%d): upgrade "
	                   "authready",
	                   version, PGSCHEMA_VERSION);
}

int
pgschema_init(PGconn *conn, char *err, size_t errlen)
{
	int64_t version, now;
	int rc;

	if ((rc = pgconn_schema_version(conn, &version, err, errlen)) !=
	    PGCONN_OK)
		return rc;
	if (version > PGSCHEMA_VERSION)
		return pgschema_newer(version, err, errlen);
	if (version != 0)
		return errbuf_code(err, errlen, PGCONN_CONFIG,
		                   "the database already holds an authready "
		                   "schema (version %" PRId64
		                   "); authready db migrate updates it",
		                   version);
	for (version = 0; version < PGSCHEMA_VERSION; version = now) {
		if ((rc = pgschema_step(conn, version, &now, err, errlen)) !=
		    PGCONN_OK)
			return rc;
		if (now != version + 1) /* a concurrent init won */
			return errbuf_code(err, errlen, PGCONN_CONFIG,
			                   "another authready db init created "
			                   "the schema meanwhile");
	}
	return PGCONN_OK;
}

int
pgschema_migrate(PGconn *conn, int64_t *from, int64_t *to, char *err,
                 size_t errlen)
{
	int64_t version, now;
	int rc;

	if ((rc = pgconn_schema_version(conn, &version, err, errlen)) !=
	    PGCONN_OK)
		return rc;
	*from = *to = version;
	if (version > PGSCHEMA_VERSION)
		return pgschema_newer(version, err, errlen);
	if (version == 0)
		return errbuf_code(err, errlen, PGCONN_CONFIG,
		                   "the database has no authready schema: run "
		                   "authready db init");
	while (version < PGSCHEMA_VERSION) {
		if ((rc = pgschema_step(conn, version, &now, err, errlen)) !=
		    PGCONN_OK)
			return rc;
		if (now > PGSCHEMA_VERSION)
			return pgschema_newer(now, err, errlen);
		if (now <= version) /* cannot go backwards; do not loop */
			return errbuf_code(err, errlen, PGCONN_FAILED,
			                   "the schema version went from "
			                   "%" PRId64 " to %" PRId64,
			                   version, now);
		*to = version = now;
	}
	return PGCONN_OK;
}
