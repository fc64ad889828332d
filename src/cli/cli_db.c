/*
 * cli_db.c - `authready db init|migrate|status|grants`: the fleet's
 * PostgreSQL schema.
 *
 * SYNOPSIS
 *	int cli_db(struct cli *cli);
 *	int cli_pg_open(struct cli *cli, PGconn **conn);
 *
 * DESCRIPTION
 *	init creates the schema (pgschema.c) in a database without one and
 *	refuses one that has it; migrate moves it to this program's version
 *	(nothing to do when it is there); status shows the schema and clock
 *	versions, the registry and state counts, the checks due (and since
 *	when the longest waiting one is), the leases, the notices and
 *	webhook events waiting, and every replica with its
 *	position, its lag in versions and when it was last seen; grants
 *	prints the GRANTs of the three roles (docs/fleet.md) and needs no
 *	database.  cli_pg_open() is how every command that writes to
 *	PostgreSQL connects: it refuses a schema other than this program's.
 *
 * DIAGNOSTICS
 *	0 done; 64 usage; 69 PostgreSQL refused us (password, user,
 *	database, privileges); 75 PostgreSQL is down or unreachable; 78 no
 *	or a malformed StoreDSN, an unreadable password file, a schema that
 *	is missing, older (migrate) or newer than this program (upgrade).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pgschema.h"

/* cli_pg_fail - print err, return the exit code of status. */
static int
cli_pg_fail(struct cli *cli, int status, const char *err)
{
	fprintf(stderr, "%s: %s\n", cli->progname, err);
	return pgconn_exit(status);
}

/* cli_pg_connect - connect without looking at the schema. */
static int
cli_pg_connect(struct cli *cli, PGconn **conn)
{
	char err[PGCONN_ERR_MAX];
	int rc;

	if ((rc = pgconn_open(&cli->cfg, conn, err, sizeof(err))) != 0)
		return cli_pg_fail(cli, rc, err);
	return 0;
}

int
cli_pg_open(struct cli *cli, PGconn **conn)
{
	char err[PGCONN_ERR_MAX];
	int rc;

	if ((rc = cli_pg_connect(cli, conn)) != 0)
		return rc;
	if ((rc = pgconn_check_schema(*conn, err, sizeof(err))) != 0) {
		PQfinish(*conn);
		*conn = NULL;
		return cli_pg_fail(cli, rc, err);
	}
	return 0;
}

static int
cli_db_init(struct cli *cli, PGconn *conn)
{
	char err[PGCONN_ERR_MAX];
	int rc;

	if ((rc = pgschema_init(conn, err, sizeof(err))) != 0)
		return cli_pg_fail(cli, rc, err);
	printf("schema version %d created; grant the roles their rights "
	       "(authready db grants)\n",
	       PGSCHEMA_VERSION);
	return 0;
}

static int
cli_db_migrate(struct cli *cli, PGconn *conn)
{
	char err[PGCONN_ERR_MAX];
	int64_t from, to;
	int rc;

	if ((rc = pgschema_migrate(conn, &from, &to, err, sizeof(err))) != 0)
		return cli_pg_fail(cli, rc, err);
	if (from == to)
		printf("schema version %" PRId64 " is current; nothing to do\n",
		       to);
	else
		printf("schema migrated from version %" PRId64 " to %" PRId64
		       "\n",
		       from, to);
	return 0;
}

/* cli_db_query - run sql (no parameters); NULL after a message. */
static PGresult *
cli_db_query(struct cli *cli, PGconn *conn, const char *what, const char *sql,
             int *status)
{
	char err[PGCONN_ERR_MAX];
	PGresult *res;
	int rc;

	rc = pgconn_exec(conn, what, sql, 0, NULL, NULL, NULL, &res, err,
	                 sizeof(err));
	if (rc != 0) {
		*status = cli_pg_fail(cli, rc, err);
		return NULL;
	}
	return res;
}

/* cli_db_replicas - one line per replica, its lag from clock. */
static int
cli_db_replicas(struct cli *cli, PGconn *conn, int64_t clock)
{
	PGresult *res;
	int status = 0, i, n;

	res = cli_db_query(cli, conn, "the replicas",
	                   "SELECT host, position, "
	                   "to_char(last_seen AT TIME ZONE 'UTC', "
	                   "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	                   "extract(epoch FROM now() - last_seen)::bigint "
	                   "FROM authready_replicas ORDER BY host",
	                   &status);
	if (res == NULL)
		return status;
	n = PQntuples(res);
	printf("replicas: %d\n", n);
	if (n > 0)
		printf("  %-32s %12s %10s %-20s %s\n", "HOST", "POSITION",
		       "LAG", "LAST SEEN", "AGO");
	for (i = 0; i < n; i++) {
		int64_t pos = strtoll(PQgetvalue(res, i, 1), NULL, 10);

		printf("  %-32s %12" PRId64 " %10" PRId64 " %-20s %ss\n",
		       PQgetvalue(res, i, 0), pos,
		       clock > pos ? clock - pos : 0, PQgetvalue(res, i, 2),
		       PQgetvalue(res, i, 3));
	}
	PQclear(res);
	return 0;
}

/* cli_db_due - the checks due and not leased: how many, and since when
 * the longest waiting one is due (a growing figure says no checker
 * runs: every host with FleetRefresh no and no authready checkerd). */
static int
cli_db_due(struct cli *cli, PGconn *conn)
{
	PGresult *res;
	int status = 0;

	res = cli_db_query(
	    cli, conn, "the checks due",
	    "SELECT count(*), count(*) FILTER (WHERE next_check = "
	    "'-infinity'), to_char(min(next_check) FILTER (WHERE next_check "
	    "> '-infinity') AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), extract(epoch FROM now() - "
	    "min(next_check) FILTER (WHERE next_check > '-infinity'))::bigint "
	    "FROM authready_checks WHERE next_check <= now() AND "
	    "(lease_until IS NULL OR lease_until < now())",
	    &status);
	if (res == NULL)
		return status;
	printf("checks due: %s", PQgetvalue(res, 0, 0));
	if (strcmp(PQgetvalue(res, 0, 1), "0") != 0)
		printf(" (%s new or asked for)", PQgetvalue(res, 0, 1));
	if (!PQgetisnull(res, 0, 2))
		printf("; the longest waiting due since %s, %ss ago",
		       PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3));
	printf("\n");
	PQclear(res);
	return 0;
}

/* cli_db_leases - the checkers' live leases, the notices and the
 * webhook events waiting. */
static int
cli_db_leases(struct cli *cli, PGconn *conn)
{
	PGresult *res;
	int status = 0, i, n;

	res = cli_db_query(cli, conn, "the leases",
	                   "SELECT lease_owner, count(*), "
	                   "to_char(max(lease_until) AT TIME ZONE 'UTC', "
	                   "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
	                   "FROM authready_checks WHERE lease_until > now() "
	                   "GROUP BY lease_owner ORDER BY lease_owner",
	                   &status);
	if (res == NULL)
		return status;
	n = PQntuples(res);
	printf("leases: %d checker(s)\n", n);
	if (n > 0)
		printf("  %-40s %8s %s\n", "OWNER", "DOMAINS", "UNTIL");
	for (i = 0; i < n; i++)
		printf("  %-40s %8s %s\n", PQgetvalue(res, i, 0),
		       PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
	PQclear(res);
	res = cli_db_query(cli, conn, "the notices",
	                   "SELECT count(*), count(handed_at) "
	                   "FROM authready_notices WHERE sent_at IS NULL",
	                   &status);
	if (res == NULL)
		return status;
	printf("notices waiting: %s (%s handed to sendmail, not marked "
	       "sent)\n",
	       PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	PQclear(res);
	res = cli_db_query(cli, conn, "the webhook events",
	                   "SELECT count(*), count(*) FILTER (WHERE "
	                   "claimed_until > now()) "
	                   "FROM authready_webhook_outbox",
	                   &status);
	if (res == NULL)
		return status;
	printf("webhook events waiting: %s (%s leased to a host)\n",
	       PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	PQclear(res);
	return 0;
}

static int
cli_db_status(struct cli *cli, PGconn *conn)
{
	char err[PGCONN_ERR_MAX];
	PGresult *res;
	int64_t version, clock;
	int rc, status = 0, i;

	if ((rc = pgconn_schema_version(conn, &version, err, sizeof(err))) != 0)
		return cli_pg_fail(cli, rc, err);
	if (version == 0) {
		fprintf(stderr,
		        "%s: the database has no authready schema: run "
		        "authready db init\n",
		        cli->progname);
		return CLI_EXIT_CONFIG;
	}
	if ((rc = pgconn_check_schema(conn, err, sizeof(err))) != 0) {
		printf("schema version %" PRId64 " (this authready: %d)\n",
		       version, PGSCHEMA_VERSION);
		return cli_pg_fail(cli, rc, err);
	}
	res = cli_db_query(cli, conn, "the counts",
	                   "SELECT (SELECT version FROM authready_clock), "
	                   "(SELECT count(*) FROM authready_registry "
	                   "WHERE NOT deleted), "
	                   "(SELECT count(*) FROM authready_registry "
	                   "WHERE deleted), "
	                   "(SELECT count(*) FROM authready_state "
	                   "WHERE NOT deleted)",
	                   &status);
	if (res == NULL)
		return status;
	clock = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	printf("schema version %" PRId64 " (this authready: %d)\n", version,
	       PGSCHEMA_VERSION);
	printf("clock version %" PRId64 "\n", clock);
	printf("registry: %s domain(s), %s removed (tombstones)\n",
	       PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	printf("states: %s\n", PQgetvalue(res, 0, 3));
	PQclear(res);
	res = cli_db_query(cli, conn, "the states",
	                   "SELECT readiness, count(*) FROM authready_state "
	                   "WHERE NOT deleted GROUP BY readiness "
	                   "ORDER BY readiness",
	                   &status);
	if (res == NULL)
		return status;
	for (i = 0; i < PQntuples(res); i++)
		printf("  %-12s %s\n", PQgetvalue(res, i, 0),
		       PQgetvalue(res, i, 1));
	PQclear(res);
	if ((rc = cli_db_due(cli, conn)) != 0 ||
	    (rc = cli_db_leases(cli, conn)) != 0)
		return rc;
	return cli_db_replicas(cli, conn, clock);
}

static const struct {
	const char *name;
	int (*run)(struct cli *cli, PGconn *conn);
} cli_db_commands[] = {
    {"init", cli_db_init},
    {"migrate", cli_db_migrate},
    {"status", cli_db_status},
};

int
cli_db(struct cli *cli)
{
	PGconn *conn;
	size_t i;
	int rc;

	if (cli->nargs != 2)
		return cli_usage_error(cli,
		                       "usage: db init|migrate|status|grants");
	if (strcmp(cli->args[1], "grants") == 0) {
		fputs(pgschema_grants(), stdout);
		return 0;
	}
	for (i = 0; i < sizeof(cli_db_commands) / sizeof(*cli_db_commands);
	     i++) {
		if (strcmp(cli->args[1], cli_db_commands[i].name) != 0)
			continue;
		if ((rc = cli_pg_connect(cli, &conn)) != 0)
			return rc;
		rc = cli_db_commands[i].run(cli, conn);
		PQfinish(conn);
		return rc;
	}
	return cli_usage_error(cli, "unknown db command '%s'", cli->args[1]);
}
