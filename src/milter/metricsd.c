/*
 * metricsd.c - /metrics and /healthz of authready-milter; see metricsd.h.
 *
 * SYNOPSIS
 *	int metricsd_open(l, err, errlen);
 *	int metricsd_register(replica, err, errlen);
 *	int metricsd_start(fd, env, err, errlen);
 *	void metricsd_stopping(void);
 *	void metricsd_stop(void);
 *
 * DESCRIPTION
 *	The listener itself is metricshttp.c's (shared with authready-api):
 *	what is the milter daemon's own is here.  /metrics renders the
 *	daemon's registry; the held index's size (store_held_count, LMDB's
 *	page count, not a walk), the webhook outbox's size
 *	(store_outbox_count, LMDB's entry count) and the replica's lag are
 *	read as the text is written.  Nothing here touches a decision: the
 *	deciding threads only add to the counters.
 *
 *	/healthz, in order: a stop has begun (metricshttp.c); the state
 *	store's data.mdb was removed or replaced under the daemon
 *	(store_replaced: the daemon would decide on a file no CLI sees); the
 *	store cannot be read; the checker thread is stopping or stalled
 *	(checkerd_alive).  The first that holds is the 503's reason; none:
 *	200 "ok".
 *
 * DIAGNOSTICS
 *	metricsd_open() and metricsd_start() fail with a sentence (the
 *	daemon exits 78); a scrape that cannot be answered (out of memory,
 *	a text past METRICSD_BODY_MAX) is a 500 and one log line;
 *	libmicrohttpd's own messages are logged as event=metrics-error.
 */
#include "ac-config.h"

#include "metricsd.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

#include "checkerd.h"
#include "decide.h"
#include "dns.h"
#include "log.h"
#include "metrics.h"
#include "metricshttp.h"
#include "replica.h"
#include "store.h"
#include "webhookd.h"

/* Set by metricsd_start(); the server's thread reads them. */
static struct metricsd_env metricsd_env;
static struct metrics metricsd_registry;

static const char *metricsd_health(void *arg, char *why, size_t whylen);

static struct metricshttp metricsd_http = {
    .key = "MetricsListen",
    .registry = &metricsd_registry,
    .body_max = METRICSD_BODY_MAX,
    .health = metricsd_health,
};

/* metricsd_held - the held index's size, read at scrape. */
static double
metricsd_held(void *arg, size_t cell)
{
	char err[256];
	size_t n;

	(void)arg;
	(void)cell;
	if (store_held_count(metricsd_env.store, &n, err, sizeof(err)) !=
	    STORE_OK)
		return NAN;
	return (double)n;
}

/* metricsd_outbox - webhook events waiting in the store's outbox, read
 * at scrape (LMDB's entry count, not a walk). */
static double
metricsd_outbox(void *arg, size_t cell)
{
	char err[256];
	size_t n;

	(void)arg;
	(void)cell;
	if (store_outbox_count(metricsd_env.store, &n, err, sizeof(err)) !=
	    STORE_OK)
		return NAN;
	return (double)n;
}

/* metricsd_lag - seconds since PostgreSQL last answered the replica;
 * +Inf when it never has. */
static double
metricsd_lag(void *arg, size_t cell)
{
	struct timespec ts;
	int64_t heard = replica_heard_ms(metricsd_env.replica), now;

	(void)arg;
	(void)cell;
	if (heard <= 0)
		return INFINITY;
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return now > heard ? (double)(now - heard) / 1000.0 : 0.0;
}

static const char *const metricsd_version[] = {PACKAGE_VERSION};

static struct metrics_family metricsd_held_family = {
    .name = "authready_held_messages",
    .help = "Messages in the held index (quarantined, waiting for their "
            "domain).",
    .type = METRICS_GAUGE,
    .read = metricsd_held,
};
static struct metrics_family metricsd_outbox_family = {
    .name = "authready_webhook_outbox_events",
    .help = "Webhook events in the store's outbox: not yet delivered to "
            "every WebhookURL (or given up).",
    .type = METRICS_GAUGE,
    .read = metricsd_outbox,
};
static struct metrics_family metricsd_lag_family = {
    .name = "authready_replica_lag_seconds",
    .help = "Seconds since PostgreSQL last answered the replica "
            "(StoreDSN); +Inf before it ever has.",
    .type = METRICS_GAUGE,
    .read = metricsd_lag,
};
static struct metrics_family metricsd_info_family = {
    .name = "authready_build_info",
    .help = "authready-milter's version (the value is always 1).",
    .type = METRICS_GAUGE,
    .nlabels = 1,
    .label = {{"version", metricsd_version, 1}},
};

/* metricsd_health - why the daemon is not serving; NULL when it is
 * (metricshttp_health_fn). */
static const char *
metricsd_health(void *arg, char *why, size_t whylen)
{
	char err[256];
	size_t n;

	(void)arg;
	if (store_replaced(metricsd_env.store, metricsd_env.state_dir)) {
		snprintf(why, whylen,
		         "the state store %s/data.mdb was removed or replaced "
		         "under the daemon",
		         metricsd_env.state_dir);
		return why;
	}
	if (store_held_count(metricsd_env.store, &n, err, sizeof(err)) !=
	    STORE_OK) {
		snprintf(why, whylen, "the state store cannot be read: %s",
		         err);
		return why;
	}
	if (!checkerd_alive(metricsd_env.checkerd, why, whylen))
		return why;
	return NULL;
}

int
metricsd_open(const struct config_listen *l, char *err, size_t errlen)
{
	return metricshttp_open(l, "MetricsListen", err, errlen);
}

int
metricsd_register(bool replica, char *err, size_t errlen)
{
	struct metrics *m = &metricsd_registry;

	metrics_init(m);
	if (decide_metrics_register(m, err, errlen) != 0 ||
	    checkerd_metrics_register(m, err, errlen) != 0 ||
	    dns_metrics_register(m, err, errlen) != 0 ||
	    log_metrics_register(m, err, errlen) != 0 ||
	    webhookd_metrics_register(m, err, errlen) != 0 ||
	    metrics_register(m, &metricsd_held_family, err, errlen) != 0 ||
	    metrics_register(m, &metricsd_outbox_family, err, errlen) != 0 ||
	    (replica &&
	     metrics_register(m, &metricsd_lag_family, err, errlen) != 0) ||
	    metrics_register(m, &metricsd_info_family, err, errlen) != 0)
		return -1;
	metrics_set(&metricsd_info_family, 0, 0, 1);
	return 0;
}

int
metricsd_start(int fd, const struct metricsd_env *env, char *err, size_t errlen)
{
	metricsd_env = *env;
	return metricshttp_start(&metricsd_http, fd, err, errlen);
}

void
metricsd_stopping(void)
{
	metricshttp_stopping(&metricsd_http);
}

void
metricsd_stop(void)
{
	metricshttp_stop(&metricsd_http);
}
