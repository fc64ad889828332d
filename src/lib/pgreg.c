/*
 * pgreg.c - registry writes to a fleet's PostgreSQL.
 *
 * SYNOPSIS
 *	int pgreg_begin(PGconn *conn, int64_t *version, char *err,
 *	    size_t errlen);
 *	int pgreg_put(PGconn *conn, int64_t version,
 *	    const struct domain_reg *reg, char *err, size_t errlen);
 *	int pgreg_del(PGconn *conn, int64_t version, const char *domain,
 *	    char *err, size_t errlen);
 *	int pgreg_commit(PGconn *conn, int64_t version, char *err,
 *	    size_t errlen);
 *	int pgreg_check_row(PGconn *conn, const char *domain, bool due,
 *	    int *found, char *err, size_t errlen);
 *
 * DESCRIPTION
 *	The rows follow the schema contract (pgschema.c): the registry entry
 *	is storecodec_reg_encode() as bytea, the key is the normalized
 *	domain, as in LMDB.  Every row written in a transaction carries the
 *	version pgreg_begin() took from authready_clock, so a replica that
 *	reads "version > its position" in version order sees every change
 *	once and no gaps.  A removal keeps a tombstone (deleted, entry NULL)
 *	so replicas learn of it; a later add writes over the tombstone.
 *	Each registered domain has its row in authready_checks (schema 5),
 *	inserted with the registration (due at once) and deleted with the
 *	removal: a check still out on a removed registration finds its
 *	lease gone, and its result is dropped (pgcheck.c).
 *
 * DIAGNOSTICS
 *	pgconn statuses with err, or PGREG_EXISTS / PGREG_ABSENT.
 */
#include "pgreg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "pgconn.h"
#include "storecodec.h"

int
pgreg_begin(PGconn *conn, int64_t *version, char *err, size_t errlen)
{
	PGresult *res;
	int rc;

	if ((rc = pgconn_exec(conn, "BEGIN", "BEGIN", 0, NULL, NULL, NULL, NULL,
	                      err, errlen)) != PGCONN_OK)
		return rc;
	rc = pgconn_exec(conn, "taking a version",
	                 "UPDATE authready_clock SET version = version + 1 "
	                 "WHERE id = 1 RETURNING version",
	                 0, NULL, NULL, NULL, &res, err, errlen);
	if (rc != PGCONN_OK) {
		pgconn_rollback(conn);
		return rc;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		pgconn_rollback(conn);
		return errbuf_code(err, errlen, PGCONN_FAILED,
		                   "authready_clock has no row: the schema is "
		                   "damaged");
	}
	*version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return PGCONN_OK;
}

int
pgreg_put(PGconn *conn, int64_t version, const struct domain_reg *reg,
          char *err, size_t errlen)
{
	unsigned char buf[STORECODEC_REG_MAX];
	char vtext[32], why[256];
	const char *values[3];
	int lengths[3] = {0, 0, 0}, binary[3] = {0, 1, 0};
	size_t len;
	PGresult *res;
	int rc;

	if (storecodec_reg_encode(reg, buf, sizeof(buf), &len, why,
	                          sizeof(why)) != 0)
		return errbuf_code(err, errlen, PGCONN_FAILED, "%s: %s",
		                   reg->domain, why);
	snprintf(vtext, sizeof(vtext), "%" PRId64, version);
	values[0] = reg->domain;
	values[1] = (const char *)buf;
	lengths[1] = (int)len;
	values[2] = vtext;
	/* The domain's row in authready_checks goes with the registration
	 * (schema 5), due at once.  Over a row left there (a hand-made
	 * change, or a race of an authready older than schema 5), it lets
	 * go of the lease of a check still out on the old registration:
	 * that check read the old entry (its issued values, its contact),
	 * so its write-back finds its token gone and drops the result. */
	rc = pgconn_exec(conn, "registering",
	                 "WITH p AS (INSERT INTO authready_registry "
	                 "(domain, entry, version, deleted) "
	                 "VALUES ($1, $2, $3, false) "
	                 "ON CONFLICT (domain) DO UPDATE SET "
	                 "entry = EXCLUDED.entry, version = EXCLUDED.version, "
	                 "deleted = false WHERE authready_registry.deleted "
	                 "RETURNING domain, version), "
	                 "c AS (INSERT INTO authready_checks (domain) "
	                 "SELECT domain FROM p ON CONFLICT (domain) DO UPDATE "
	                 "SET lease_owner = NULL, lease_until = NULL, "
	                 "lease_token = NULL, next_check = '-infinity') "
	                 "SELECT version FROM p",
	                 3, values, lengths, binary, &res, err, errlen);
	if (rc != PGCONN_OK)
		return rc;
	rc = PQntuples(res) == 1 ? PGCONN_OK : PGREG_EXISTS;
	PQclear(res);
	return rc;
}

int
pgreg_del(PGconn *conn, int64_t version, const char *domain, char *err,
          size_t errlen)
{
	char vtext[32];
	const char *values[2] = {domain, vtext};
	PGresult *res;
	int rc, n;

	snprintf(vtext, sizeof(vtext), "%" PRId64, version);
	/* and its row in authready_checks: a check still out on it finds
	 * its lease gone and drops its result */
	rc = pgconn_exec(conn, "removing",
	                 "WITH p AS (UPDATE authready_registry SET entry = "
	                 "NULL, deleted = true, version = $2 "
	                 "WHERE domain = $1 AND NOT deleted RETURNING domain), "
	                 "c AS (DELETE FROM authready_checks WHERE domain = "
	                 "(SELECT domain FROM p)) "
	                 "SELECT 1 FROM p",
	                 2, values, NULL, NULL, &res, err, errlen);
	if (rc != PGCONN_OK)
		return rc;
	n = PQntuples(res);
	PQclear(res);
	if (n == 0)
		return PGREG_ABSENT;
	return pgconn_exec(conn, "removing the state",
	                   "UPDATE authready_state SET entry = NULL, "
	                   "deleted = true, version = $2 "
	                   "WHERE domain = $1 AND NOT deleted",
	                   2, values, NULL, NULL, NULL, err, errlen);
}

int
pgreg_commit(PGconn *conn, int64_t version, char *err, size_t errlen)
{
	char vtext[32];
	const char *values[1] = {vtext};
	int rc;

	snprintf(vtext, sizeof(vtext), "%" PRId64, version);
	rc = pgconn_exec(conn, "notifying the replicas",
	                 "SELECT pg_notify('authready_changes', $1)", 1, values,
	                 NULL, NULL, NULL, err, errlen);
	if (rc == PGCONN_OK)
		rc = pgconn_commit(conn, err, errlen);
	if (rc != PGCONN_OK)
		pgconn_rollback(conn);
	return rc;
}

int
pgreg_check_row(PGconn *conn, const char *domain, bool due, int *found,
                char *err, size_t errlen)
{
	const char *values[2] = {domain, due ? "t" : "f"};
	PGresult *res;
	int rc;

	*found = PGREG_ROW_UNREGISTERED;
	if ((rc = pgconn_exec(conn, "BEGIN", "BEGIN", 0, NULL, NULL, NULL, NULL,
	                      err, errlen)) != PGCONN_OK)
		return rc;
	/* The clock first, as every writer of the registry takes it: what
	 * the registry says of domain stays so to COMMIT. */
	rc =
	    pgconn_exec(conn, "taking the clock",
	                "SELECT 1 FROM authready_clock WHERE id = 1 FOR UPDATE",
	                0, NULL, NULL, NULL, NULL, err, errlen);
	/* made: a row inserted (xmax 0); one there is updated (and so
	 * returned, not made) only with due */
	if (rc == PGCONN_OK)
		rc = pgconn_exec(
		    conn, "asking for a check",
		    "WITH r AS (SELECT domain FROM authready_registry "
		    "WHERE domain = $1 AND NOT deleted), "
		    "i AS (INSERT INTO authready_checks (domain) "
		    "SELECT domain FROM r ON CONFLICT (domain) DO UPDATE "
		    "SET next_check = '-infinity' WHERE $2::boolean "
		    "RETURNING xmax = 0 AS made) "
		    "SELECT (SELECT count(*) FROM r), "
		    "coalesce((SELECT made FROM i), false)",
		    2, values, NULL, NULL, &res, err, errlen);
	if (rc != PGCONN_OK) {
		pgconn_rollback(conn);
		return rc;
	}
	if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "0") != 0)
		*found = strcmp(PQgetvalue(res, 0, 1), "t") == 0
		             ? PGREG_ROW_MADE
		             : PGREG_ROW_THERE;
	PQclear(res);
	/* An idle `authready checkerd` waits for this (cli_checkerd.c). */
	if (due && *found != PGREG_ROW_UNREGISTERED &&
	    (rc = pgconn_exec(conn, "notifying the checkers",
	                      "SELECT pg_notify('authready_due', $1)", 1,
	                      values, NULL, NULL, NULL, err, errlen)) !=
	        PGCONN_OK) {
		pgconn_rollback(conn);
		*found = PGREG_ROW_UNREGISTERED;
		return rc;
	}
	if ((rc = pgconn_commit(conn, err, errlen)) != PGCONN_OK) {
		pgconn_rollback(conn);
		*found = PGREG_ROW_UNREGISTERED;
	}
	return rc;
}
