/*
 * pgoutbox.h - the fleet's webhook outbox in PostgreSQL.
 *
 * SYNOPSIS
 *	#include "pgoutbox.h"
 *
 *	unsigned pgoutbox_lease_ms(unsigned webhook_timeout_ms);
 *	int pgoutbox_put(PGconn *conn, const char *domain, const char *body,
 *	    char *err, size_t errlen);
 *	int pgoutbox_open(struct pgoutbox *po, const struct config *cfg,
 *	    char *err, size_t errlen);
 *	int pgoutbox_claim(struct pgoutbox *po, size_t max,
 *	    store_event_cb cb, void *ctx, char *err, size_t errlen);
 *	int pgoutbox_delete(struct pgoutbox *po, const uint64_t *seqs,
 *	    size_t n, size_t *gone, char *err, size_t errlen);
 *	int pgoutbox_fd(const struct pgoutbox *po);
 *	bool pgoutbox_notified(struct pgoutbox *po);
 *	void pgoutbox_close(struct pgoutbox *po);
 *
 * DESCRIPTION
 *	authready_webhook_outbox (schema version 3, pgschema.c) holds the
 *	events of the fleet's changes: a state written back by a checker
 *	(pgcheck.c) and a registry removal (regops.c through pgreg_del()),
 *	inserted in the transaction of the change, after the clock row was
 *	locked, so seq follows commit order.  pgoutbox_put() is one such
 *	insert, inside the caller's transaction.
 *
 *	Every milter host's webhookd empties it (webhookd.h).  A claim is
 *	one transaction under an advisory lock (claims never interleave):
 *	the host's own rows get a new lease, then the first max rows in seq
 *	order whose domain no other host holds a live lease on are taken
 *	(SELECT ... FOR UPDATE SKIP LOCKED) and given this host's lease
 *	(pgoutbox_lease_ms(WebhookTimeout)); cb gets them in seq order,
 *	with those it had before.  So one host at a time delivers a domain's
 *	events, in order, and the events of a host that died are another's
 *	once its lease ran out (sent again, with the same id: at least
 *	once).  pgoutbox_delete() removes delivered (or given up) rows this
 *	host still holds.  The connection is opened at the first claim and
 *	again after it was lost.
 *
 *	The connection LISTENs on PGOUTBOX_CHANNEL, the channel every
 *	writer of the fleet's state NOTIFYs in the transaction of its write
 *	(pgcheck.c's write-back, pgreg.c's removal: the ones that insert the
 *	events), so the deliverer waits on pgoutbox_fd() and claims as soon
 *	as pgoutbox_notified() says a write committed, instead of polling;
 *	a NOTIFY sent while the connection was down is lost, so a claim
 *	follows every (re)connect, and the caller keeps a slow poll.
 *
 *	Held and released mail are each host's own: their events stay in
 *	the host's LMDB outbox (outbox.h), delivered by the same daemon.
 *
 * DIAGNOSTICS
 *	pgconn statuses (pgconn.h) with a message in err.
 */
#ifndef AUTHREADY_PGOUTBOX_H
#define AUTHREADY_PGOUTBOX_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "configfile.h"
#include "store.h"

#define PGOUTBOX_LEASE_SLACK_MS 5000 /* beyond two WebhookTimeouts */
#define PGOUTBOX_OWNER_MAX 256
#define PGOUTBOX_CHANNEL "authready_changes" /* pgschema.c's NOTIFY */

struct pgoutbox {
	const struct config *cfg;
	PGconn *conn; /* NULL until the first claim, or after a loss */
	char owner[PGOUTBOX_OWNER_MAX]; /* HostName/pid */
	unsigned lease_ms;
};

/* pgoutbox_fd - the connection's socket, to wait on for a NOTIFY; -1
 * while there is no connection (the next claim opens one). */
int pgoutbox_fd(const struct pgoutbox *po);

/* pgoutbox_notified - read what the server sent: true when a NOTIFY came
 * (all of them consumed) or the connection was lost (closed: the next
 * claim opens another); false when nothing came. */
bool pgoutbox_notified(struct pgoutbox *po);

/* pgoutbox_lease_ms - the lease of claimed events: longer than a
 * delivery attempt can take, renewed at every claim; at most a day. */
unsigned pgoutbox_lease_ms(unsigned webhook_timeout_ms);

/* pgoutbox_put - one event, inside the caller's transaction. */
int pgoutbox_put(PGconn *conn, const char *domain, const char *body, char *err,
                 size_t errlen);

/* pgoutbox_open - po for this host (no connection yet); 0 ok, -1 with
 * err. */
int pgoutbox_open(struct pgoutbox *po, const struct config *cfg, char *err,
                  size_t errlen);

/* pgoutbox_claim - renew and claim; cb gets (seq, domain, body, len) of
 * each row this host holds, at most max, in seq order (a nonzero return
 * stops it). */
int pgoutbox_claim(struct pgoutbox *po, size_t max, store_event_cb cb,
                   void *ctx, char *err, size_t errlen);

/* pgoutbox_delete - delete the rows of seqs[0..n) this host holds; *gone
 * the number deleted. */
int pgoutbox_delete(struct pgoutbox *po, const uint64_t *seqs, size_t n,
                    size_t *gone, char *err, size_t errlen);

/* pgoutbox_close - the connection closed. */
void pgoutbox_close(struct pgoutbox *po);

#endif
