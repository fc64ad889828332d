/*
 * metricsd.h - authready-milter's metrics listener: /metrics and
 *	/healthz over HTTP (MetricsListen).
 *
 * SYNOPSIS
 *	#include "metricsd.h"
 *
 *	The functions: see metricsd.c.
 *
 * DESCRIPTION
 *	The listening socket is opened with the others, before privileges
 *	drop (metricsd_open); libmicrohttpd serves it from a thread of its
 *	own once the store, the checker and the replica run
 *	(metricsd_start; the listener is metricshttp.c's, shared with
 *	authready-api); the daemon's metrics are registered before those
 *	threads start (metricsd_register), into one registry (metrics.h): the
 *decisions (decide.c), the checker (checkerd.c), DNS (dns.c), the log (log.c),
 *	webhook deliveries (webhookd.c), the held index's and the webhook
 *	outbox's sizes and, with StoreDSN, the replica's lag.  /healthz answers
 *200 while the daemon is serving and 503 with the reason otherwise
 *	(metricsd_stopping() at the start of a stop, the state store
 *	removed or unreadable, the checker thread stalled).
 */
#ifndef AUTHREADY_METRICSD_H
#define AUTHREADY_METRICSD_H

#include <stdbool.h>
#include <stddef.h>

#include "configfile.h"

#define METRICSD_BODY_MAX (4096 * 1024) /* the largest /metrics text */

struct store;
struct checkerd;
struct replica;

/* What /healthz looks at and the gauges read at scrape time. */
struct metricsd_env {
	struct store *store;
	const char *state_dir; /* for store_replaced() */
	struct checkerd *checkerd;
	struct replica *replica; /* NULL: no StoreDSN, no lag gauge */
};

/* metricsd_open - bind and listen on l (before privileges drop); the
 * descriptor, or -1 with err. */
int metricsd_open(const struct config_listen *l, char *err, size_t errlen);

/* metricsd_register - the daemon's metrics into the registry (the
 * replica's lag too with replica), before the threads that count
 * start; 0, or -1 with err. */
int metricsd_register(bool replica, char *err, size_t errlen);

/* metricsd_start - serve fd from a thread of libmicrohttpd's, the
 * registry and env's store, checker and replica; 0, or -1 with err (fd
 * is closed). */
int metricsd_start(int fd, const struct metricsd_env *env, char *err,
                   size_t errlen);

/* metricsd_stopping - /healthz answers 503 "stopping" from now on. */
void metricsd_stopping(void);

/* metricsd_stop - stop serving (before the store closes); the counters
 * stay until the process ends (a thread may still add). */
void metricsd_stop(void);

#endif
