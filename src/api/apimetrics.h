/*
 * apimetrics.h - authready-api's metrics listener: /metrics and /healthz
 *	over HTTP (APIMetricsListen).
 *
 * SYNOPSIS
 *	#include "apimetrics.h"
 *
 *	The functions: see apimetrics.c.
 *
 * DESCRIPTION
 *	authready-api and authready-milter read one authready.conf, so the
 *	API has a listener key of its own (APIMetricsListen, parsed as
 *	MetricsListen is): one MetricsListen cannot be bound by both.  The
 *	API's own listener is not used: it asks every request for a bearer
 *	token and may face the operator's application network (TLS, 0.0.0.0),
 *	while a scraper and a load balancer's probe carry no token and a
 *	metrics port is kept on loopback or firewalled.
 *
 *	The listener is metricshttp.c's, shared with authready-milter.
 *	The socket is opened before privileges drop (apimetrics_open); the
 *	families are registered before the API serves (apimetrics_register);
 *	libmicrohttpd serves the socket from a thread of its own
 *	(apimetrics_start).  api.c tells of every request once it is over
 *	(apimetrics_request): counted by route and status, its time in a
 *	histogram by route.  /healthz answers 200 while the API serves and
 *	the state store can be read, 503 with the reason otherwise.
 */
#ifndef AUTHREADY_APIMETRICS_H
#define AUTHREADY_APIMETRICS_H

#include <stddef.h>
#include <stdint.h>

#include "apiroute.h"
#include "configfile.h"

#define APIMETRICS_BODY_MAX (1024 * 1024) /* the largest /metrics text */

struct store;

/* apimetrics_open - bind and listen on l (before privileges drop); the
 * descriptor, or -1 with err. */
int apimetrics_open(const struct config_listen *l, char *err, size_t errlen);

/* apimetrics_register - the API's metric families into its registry
 * (before requests are served); 0, or -1 with err. */
int apimetrics_register(char *err, size_t errlen);

/* apimetrics_request - one request over: its route (APIROUTE_NONE when
 * answered before one was known), the status sent (0: none) and its
 * time in microseconds.  A no-op before apimetrics_register(). */
void apimetrics_request(enum apiroute_id route, unsigned status, uint64_t us);

/* apimetrics_start - serve fd from a thread of libmicrohttpd's; st and
 * state_dir are what /healthz looks at.  0, or -1 with err (fd is
 * closed). */
int apimetrics_start(int fd, struct store *st, const char *state_dir, char *err,
                     size_t errlen);

/* apimetrics_stopping - /healthz answers 503 "stopping" from now on. */
void apimetrics_stopping(void);

/* apimetrics_stop - stop serving (before the store closes). */
void apimetrics_stop(void);

#endif
