/*
 * apimetrics.c - /metrics and /healthz of authready-api; see
 *	apimetrics.h.
 *
 * SYNOPSIS
 *	int apimetrics_open(l, err, errlen);
 *	int apimetrics_register(err, errlen);
 *	void apimetrics_request(route, status, us);
 *	int apimetrics_start(fd, st, state_dir, err, errlen);
 *	void apimetrics_stopping(void);
 *	void apimetrics_stop(void);
 *
 * DESCRIPTION
 *	The families: authready_api_requests_total by route and status,
 *	authready_api_request_duration_seconds by route (the time the
 *	api-request log line shows, whole milliseconds: a request under
 *	one counts in the first bucket), authready_api_registered_domains
 *	(the registry's entry count, LMDB's, read at scrape: not a walk; the
 *	domains by state are authready-milter's authready_domains, counted
 *	by its checker's rounds, which the API has none of) and
 *	authready_api_build_info.  A route is a label value from a table
 *	indexed by enum apiroute_id; a status one of a fixed table of the
 *	codes the API sends, "none" (the client went before an answer) or
 *	"other".  A request adds to two per-thread cells (metrics.h): the
 *	request path takes no lock here.
 *
 *	The listener is metricshttp.c's (shared with authready-milter):
 *	one libmicrohttpd thread, GET and HEAD of /metrics and /healthz,
 *	no token.  /healthz, in order: a stop has begun (metricshttp.c);
 *	the state store's data.mdb was removed or replaced under the
 *	daemon; the store cannot be read.  The first that holds is the
 *	503's reason; none: 200 "ok".
 *
 * DIAGNOSTICS
 *	apimetrics_open() and apimetrics_start() fail with a sentence (the
 *	daemon exits 78); a scrape that cannot be answered (out of memory,
 *	a text past APIMETRICS_BODY_MAX) is a 500 and one log line;
 *	libmicrohttpd's own messages are logged as event=metrics-error.
 */
#include "ac-config.h"

#include "apimetrics.h"

#include <math.h>
#include <stdio.h>

#include "log.h"
#include "metrics.h"
#include "metricshttp.h"
#include "store.h"

#define APIMETRICS_ROUTES ((size_t)APIROUTE_RELEASE + 1)

/* Set by apimetrics_start(); the server's thread reads them. */
static struct store *apimetrics_st;
static const char *apimetrics_state_dir;
static struct metrics apimetrics_registry;

static const char *apimetrics_health(void *arg, char *why, size_t whylen);

static struct metricshttp apimetrics_http = {
    .key = "APIMetricsListen",
    .registry = &apimetrics_registry,
    .body_max = APIMETRICS_BODY_MAX,
    .health = apimetrics_health,
};

static const char *const apimetrics_routes[APIMETRICS_ROUTES] = {
    [APIROUTE_NONE] = "none",       [APIROUTE_LIST] = "list",
    [APIROUTE_ADD] = "add",         [APIROUTE_IMPORT] = "import",
    [APIROUTE_GET] = "get",         [APIROUTE_DELETE] = "delete",
    [APIROUTE_RECORDS] = "records", [APIROUTE_REFRESH] = "refresh",
    [APIROUTE_HELD] = "held",       [APIROUTE_RELEASE] = "release",
};

/* The statuses the API sends (apiproblem.c's and the routes'), then
 * "none" and "other".  libmicrohttpd's own 431 (a header block that does
 * not fit in API_MHD_MEMORY) never reaches api.c: neither logged nor
 * counted; api.c's (past API_HEADER_MAX) is. */
static const unsigned apimetrics_codes[] = {
    200, 201, 202, 204, 400, 401, 403, 404, 405,
    408, 409, 413, 415, 429, 431, 500, 502, 503,
};
#define APIMETRICS_NCODES (sizeof(apimetrics_codes) / sizeof(*apimetrics_codes))
#define APIMETRICS_STATUS_NONE APIMETRICS_NCODES
#define APIMETRICS_STATUS_OTHER (APIMETRICS_NCODES + 1)
static const char *const apimetrics_statuses[APIMETRICS_NCODES + 2] = {
    "200", "201", "202", "204", "400", "401", "403", "404", "405",  "408",
    "409", "413", "415", "429", "431", "500", "502", "503", "none", "other",
};

static const char *const apimetrics_version[] = {PACKAGE_VERSION};

/* apimetrics_domains - the registry's entries, read at scrape. */
static double
apimetrics_domains(void *arg, size_t cell)
{
	char err[256];
	size_t n;

	(void)arg;
	(void)cell;
	if (apimetrics_st == NULL ||
	    store_reg_count(apimetrics_st, &n, err, sizeof(err)) != STORE_OK)
		return NAN;
	return (double)n;
}

static struct metrics_family apimetrics_requests = {
    .name = "authready_api_requests_total",
    .help = "authready-api requests by route (none: answered before a "
            "route was known) and HTTP status (none: the client left "
            "first).",
    .type = METRICS_COUNTER,
    .nlabels = 2,
    .label = {{"route", apimetrics_routes, APIMETRICS_ROUTES},
              {"status", apimetrics_statuses, APIMETRICS_NCODES + 2}},
};
static struct metrics_family apimetrics_seconds = {
    .name = "authready_api_request_duration_seconds",
    .help = "authready-api request time from its headers to its end, by "
            "route (whole milliseconds).",
    .type = METRICS_HISTOGRAM,
    .nlabels = 1,
    .label = {{"route", apimetrics_routes, APIMETRICS_ROUTES}},
    .bounds_us = metrics_latency_bounds_us,
};
static struct metrics_family apimetrics_domains_family = {
    .name = "authready_api_registered_domains",
    .help = "Domains in the registry the API serves (the state store's "
            "entry count).",
    .type = METRICS_GAUGE,
    .read = apimetrics_domains,
};
static struct metrics_family apimetrics_info = {
    .name = "authready_api_build_info",
    .help = "authready-api's version (the value is always 1).",
    .type = METRICS_GAUGE,
    .nlabels = 1,
    .label = {{"version", apimetrics_version, 1}},
};

/* apimetrics_status_index - the label index of an HTTP status. */
static size_t
apimetrics_status_index(unsigned status)
{
	if (status == 0)
		return APIMETRICS_STATUS_NONE;
	for (size_t i = 0; i < APIMETRICS_NCODES; i++)
		if (apimetrics_codes[i] == status)
			return i;
	return APIMETRICS_STATUS_OTHER;
}

void
apimetrics_request(enum apiroute_id route, unsigned status, uint64_t us)
{
	size_t r = (size_t)route < APIMETRICS_ROUTES ? (size_t)route : 0;

	metrics_add(&apimetrics_requests, r, apimetrics_status_index(status),
	            1);
	metrics_observe_us(&apimetrics_seconds, r, 0, us);
}

/* apimetrics_health - why the API is not serving; NULL when it is
 * (metricshttp_health_fn). */
static const char *
apimetrics_health(void *arg, char *why, size_t whylen)
{
	char err[256];
	size_t n;

	(void)arg;
	if (store_replaced(apimetrics_st, apimetrics_state_dir)) {
		snprintf(why, whylen,
		         "the state store %s/data.mdb was removed or replaced "
		         "under the daemon",
		         apimetrics_state_dir);
		return why;
	}
	if (store_reg_count(apimetrics_st, &n, err, sizeof(err)) != STORE_OK) {
		snprintf(why, whylen, "the state store cannot be read: %s",
		         err);
		return why;
	}
	return NULL;
}

int
apimetrics_open(const struct config_listen *l, char *err, size_t errlen)
{
	return metricshttp_open(l, "APIMetricsListen", err, errlen);
}

int
apimetrics_register(char *err, size_t errlen)
{
	struct metrics *m = &apimetrics_registry;

	metrics_init(m);
	apimetrics_seconds.nbounds = metrics_latency_nbounds;
	if (metrics_register(m, &apimetrics_requests, err, errlen) != 0 ||
	    metrics_register(m, &apimetrics_seconds, err, errlen) != 0 ||
	    metrics_register(m, &apimetrics_domains_family, err, errlen) != 0 ||
	    metrics_register(m, &apimetrics_info, err, errlen) != 0)
		return -1;
	metrics_set(&apimetrics_info, 0, 0, 1);
	return 0;
}

int
apimetrics_start(int fd, struct store *st, const char *state_dir, char *err,
                 size_t errlen)
{
	apimetrics_st = st;
	apimetrics_state_dir = state_dir;
	return metricshttp_start(&apimetrics_http, fd, err, errlen);
}

void
apimetrics_stopping(void)
{
	metricshttp_stopping(&apimetrics_http);
}

void
apimetrics_stop(void)
{
	metricshttp_stop(&apimetrics_http);
}
