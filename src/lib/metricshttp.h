/*
 * metricshttp.h - the HTTP listener of /metrics and /healthz that both
 *	daemons serve (MetricsListen, APIMetricsListen).
 *
 * SYNOPSIS
 *	#include "metricshttp.h"
 *
 *	int metricshttp_open(const struct config_listen *l,
 *	    const char *key, char *err, size_t errlen);
 *	int metricshttp_start(struct metricshttp *mh, int fd, char *err,
 *	    size_t errlen);
 *	void metricshttp_stopping(struct metricshttp *mh);
 *	void metricshttp_stop(struct metricshttp *mh);
 *
 * DESCRIPTION
 *	What authready-milter's metricsd.c and authready-api's apimetrics.c
 *	share: the listening socket (opened before privileges drop), the
 *	libmicrohttpd server on one thread of its own (epoll or poll, never
 *	select: a daemon's descriptors go past FD_SETSIZE), at most
 *	METRICSHTTP_CONNECTIONS_MAX connections, each closed after
 *	METRICSHTTP_TIMEOUT_SECONDS idle, a request's headers bounded by
 *	METRICSHTTP_MEMORY_MAX.  Only GET and HEAD of /metrics and /healthz
 *	are answered (405 with Allow for another method, 404 for another
 *	path), with no token; a request body is read and ignored.
 *
 *	/metrics renders the caller's registry (metrics_render) into a
 *	buffer sized by the previous scrape, grown once when the text needs
 *	more, at most body_max.  /healthz answers 503 "stopping" once
 *	metricshttp_stopping() was called, else asks the caller's health
 *	callback: NULL is 200 "ok", a reason is 503 with it.  So each daemon
 *	keeps only what differs: its families and what its health means.
 *
 * DIAGNOSTICS
 *	metricshttp_open() and metricshttp_start() fail with a sentence
 *	naming the key (the daemon exits 78); a scrape that cannot be
 *	answered (out of memory, a text past body_max) is a 500 and one log
 *	line; libmicrohttpd's own messages are logged as
 *	event=metrics-error.
 */
#ifndef AUTHREADY_METRICSHTTP_H
#define AUTHREADY_METRICSHTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "configfile.h"
#include "metrics.h"

#define METRICSHTTP_CONNECTIONS_MAX 32 /* scrapers and probes at once */
#define METRICSHTTP_TIMEOUT_SECONDS 10 /* an idle connection is closed */
#define METRICSHTTP_MEMORY_MAX 16384   /* a request's headers, octets */
#define METRICSHTTP_REASON_MAX 512     /* a /healthz reason, octets */

struct MHD_Daemon;

/* metricshttp_health_fn - why the daemon is not serving (a constant or
 * a sentence written in why); NULL when it is. */
typedef const char *metricshttp_health_fn(void *arg, char *why, size_t whylen);

/* One listener: the caller sets the first fields, the rest are ours. */
struct metricshttp {
	const char *key;          /* "MetricsListen": named in errors */
	struct metrics *registry; /* what /metrics renders */
	size_t body_max;          /* the largest /metrics text */
	metricshttp_health_fn *health;
	void *health_arg;
	struct MHD_Daemon *mhd; /* NULL: not serving */
	size_t size_hint;       /* the server's thread only */
	_Atomic bool stop_begun;
};

/* metricshttp_open - bind and listen on l (before privileges drop); the
 * descriptor, or -1 with err (naming key). */
int metricshttp_open(const struct config_listen *l, const char *key, char *err,
                     size_t errlen);

/* metricshttp_start - serve fd from a thread of libmicrohttpd's; 0, or
 * -1 with err (fd is closed). */
int metricshttp_start(struct metricshttp *mh, int fd, char *err, size_t errlen);

/* metricshttp_stopping - /healthz answers 503 "stopping" from now on. */
void metricshttp_stopping(struct metricshttp *mh);

/* metricshttp_stop - stop serving (before what the health callback and
 * the registry's gauges read goes away). */
void metricshttp_stop(struct metricshttp *mh);

#endif
