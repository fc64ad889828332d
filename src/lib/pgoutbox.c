/*
 * pgoutbox.c - the fleet's webhook outbox in PostgreSQL; see pgoutbox.h.
 *
 * SYNOPSIS
 *	unsigned pgoutbox_lease_ms(webhook_timeout_ms);
 *	int pgoutbox_put(conn, domain, body, err, errlen);
 *	int pgoutbox_open(po, cfg, err, errlen);
 *	int pgoutbox_claim(po, max, cb, ctx, err, errlen);
 *	int pgoutbox_delete(po, seqs, n, gone, err, errlen);
 *	int pgoutbox_fd(po);
 *	bool pgoutbox_notified(po);
 *	void pgoutbox_close(po);
 *
 * DESCRIPTION
 *	A claim: BEGIN, the advisory lock PGOUTBOX_LOCK, the renewal of this
 *	host's rows, one UPDATE over the picked rows RETURNING them in seq
 *	order, COMMIT; cb runs after the COMMIT.  A domain is busy while any
 *	of its rows carries another host's lease that has not run out.
 *	A connection LISTENs on PGOUTBOX_CHANNEL from its opening; the
 *	NOTIFYs it gets are only a wake-up (their payload is not read).
 */
#include "pgoutbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "pgconn.h"

#define PGOUTBOX_LOCK "SELECT pg_advisory_xact_lock(7411500003)"

#define PGOUTBOX_SQL_RENEW                                                     \
	"UPDATE authready_webhook_outbox SET claimed_until = now() + "         \
	"$2::bigint * interval '1 millisecond' WHERE claimed_by = $1"

#define PGOUTBOX_SQL_CLAIM                                                     \
	"WITH busy AS (SELECT DISTINCT domain FROM authready_webhook_outbox "  \
	"WHERE claimed_by <> $1 AND claimed_until > now()), "                  \
	"pick AS (SELECT o.seq FROM authready_webhook_outbox o "               \
	"WHERE o.domain NOT IN (SELECT domain FROM busy) "                     \
	"ORDER BY o.seq LIMIT $3::bigint FOR UPDATE OF o SKIP LOCKED), "       \
	"up AS (UPDATE authready_webhook_outbox o SET claimed_by = $1, "       \
	"claimed_until = now() + $2::bigint * interval '1 millisecond' "       \
	"FROM pick WHERE o.seq = pick.seq RETURNING o.seq, o.domain, "         \
	"o.event) "                                                            \
	"SELECT seq, domain, event FROM up ORDER BY seq"

unsigned
pgoutbox_lease_ms(unsigned webhook_timeout_ms)
{
	unsigned long long ms =
	    2ULL * webhook_timeout_ms + PGOUTBOX_LEASE_SLACK_MS;

	return ms > 86400000ULL ? 86400000U : (unsigned)ms;
}

int
pgoutbox_put(PGconn *conn, const char *domain, const char *body, char *err,
             size_t errlen)
{
	const char *values[2] = {domain, body};

	return pgconn_exec(conn, "writing a webhook event",
	                   "INSERT INTO authready_webhook_outbox "
	                   "(domain, event) VALUES ($1, $2)",
	                   2, values, NULL, NULL, NULL, err, errlen);
}

int
pgoutbox_open(struct pgoutbox *po, const struct config *cfg, char *err,
              size_t errlen)
{
	char host[200];

	memset(po, 0, sizeof(*po));
	if (pgconn_host_name(cfg, host, sizeof(host), err, errlen) != 0)
		return -1;
	po->cfg = cfg;
	snprintf(po->owner, sizeof(po->owner), "%s/%ld", host, (long)getpid());
	po->lease_ms = pgoutbox_lease_ms(cfg->webhook_timeout_ms);
	return 0;
}

void
pgoutbox_close(struct pgoutbox *po)
{
	if (po->conn != NULL)
		PQfinish(po->conn);
	po->conn = NULL;
}

/* pgoutbox_connect - a live connection with the schema we know. */
static int
pgoutbox_connect(struct pgoutbox *po, char *err, size_t errlen)
{
	int rc;

	if (po->conn != NULL && PQstatus(po->conn) == CONNECTION_OK)
		return PGCONN_OK;
	pgoutbox_close(po);
	if ((rc = pgconn_open(po->cfg, &po->conn, err, errlen)) != PGCONN_OK)
		return rc;
	if ((rc = pgconn_check_schema(po->conn, err, errlen)) != PGCONN_OK ||
	    (rc = pgconn_exec(po->conn, "listening for changes",
	                      "LISTEN " PGOUTBOX_CHANNEL, 0, NULL, NULL, NULL,
	                      NULL, err, errlen)) != PGCONN_OK)
		pgoutbox_close(po);
	return rc;
}

int
pgoutbox_fd(const struct pgoutbox *po)
{
	return po->conn != NULL ? PQsocket(po->conn) : -1;
}

bool
pgoutbox_notified(struct pgoutbox *po)
{
	int any;

	if (po->conn == NULL)
		return false;
	if ((any = pgconn_notified(po->conn)) < 0 ||
	    PQstatus(po->conn) != CONNECTION_OK) {
		pgoutbox_close(po);
		return true;
	}
	return any > 0;
}

int
pgoutbox_claim(struct pgoutbox *po, size_t max, store_event_cb cb, void *ctx,
               char *err, size_t errlen)
{
	char lease[32], limit[32];
	const char *values[3] = {po->owner, lease, limit};
	PGresult *res = NULL;
	int rc, i, n;

	if ((rc = pgoutbox_connect(po, err, errlen)) != PGCONN_OK)
		return rc;
	snprintf(lease, sizeof(lease), "%u", po->lease_ms);
	snprintf(limit, sizeof(limit), "%zu", max);
	if ((rc = pgconn_exec(po->conn, "BEGIN", "BEGIN", 0, NULL, NULL, NULL,
	                      NULL, err, errlen)) != PGCONN_OK)
		return rc;
	if ((rc = pgconn_exec(po->conn, "the webhook claim lock", PGOUTBOX_LOCK,
	                      0, NULL, NULL, NULL, NULL, err, errlen)) !=
	        PGCONN_OK ||
	    (rc = pgconn_exec(po->conn, "renewing webhook leases",
	                      PGOUTBOX_SQL_RENEW, 2, values, NULL, NULL, NULL,
	                      err, errlen)) != PGCONN_OK ||
	    (rc = pgconn_exec(po->conn, "claiming webhook events",
	                      PGOUTBOX_SQL_CLAIM, 3, values, NULL, NULL, &res,
	                      err, errlen)) != PGCONN_OK ||
	    (rc = pgconn_commit(po->conn, err, errlen)) != PGCONN_OK) {
		if (res != NULL)
			PQclear(res);
		pgconn_rollback(po->conn);
		return rc;
	}
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		uint64_t seq = strtoull(PQgetvalue(res, i, 0), NULL, 10);
		const char *body = PQgetvalue(res, i, 2);

		if (cb(ctx, seq, PQgetvalue(res, i, 1), body,
		       (size_t)PQgetlength(res, i, 2)) != 0)
			break;
	}
	PQclear(res);
	return PGCONN_OK;
}

int
pgoutbox_delete(struct pgoutbox *po, const uint64_t *seqs, size_t n,
                size_t *gone, char *err, size_t errlen)
{
	const char *values[2] = {po->owner, NULL};
	size_t cap = n * 21 + 3, pos = 0, i;
	PGresult *res;
	char *arr;
	int rc;

	*gone = 0;
	if (n == 0)
		return PGCONN_OK;
	if ((rc = pgoutbox_connect(po, err, errlen)) != PGCONN_OK)
		return rc;
	if ((arr = malloc(cap)) == NULL)
		return errbuf_code(err, errlen, PGCONN_FAILED,
		                   "out of memory for %zu events", n);
	arr[pos++] = '{';
	for (i = 0; i < n; i++)
		pos += (size_t)snprintf(arr + pos, cap - pos, "%s%" PRIu64,
		                        i ? "," : "", seqs[i]);
	snprintf(arr + pos, cap - pos, "}");
	values[1] = arr;
	rc = pgconn_exec(po->conn, "deleting delivered webhook events",
	                 "DELETE FROM authready_webhook_outbox "
	                 "WHERE claimed_by = $1 AND seq = ANY($2::bigint[])",
	                 2, values, NULL, NULL, &res, err, errlen);
	free(arr);
	if (rc != PGCONN_OK)
		return rc;
	*gone = (size_t)strtoul(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return PGCONN_OK;
}
