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
 *	libmicrohttpd runs one thread of its own (epoll or poll), at most
 *	APIMETRICS_CONNECTIONS_MAX connections, each closed after
 *	APIMETRICS_TIMEOUT_SECONDS idle, headers bounded by
 *	APIMETRICS_MEMORY_MAX.  Only GET and HEAD of /metrics and /healthz
 *	are answered (405 with Allow for another method, 404 for another
 *	path), with no token.  /healthz, in order: a stop has begun; the
 *	state store's data.mdb was removed or replaced under the daemon;
 *	the store cannot be read.  The first that holds is the 503's
 *	reason; none: 200 "ok".
 *
 * DIAGNOSTICS
 *	apimetrics_open() and apimetrics_start() fail with a sentence (the
 *	daemon exits 78); a scrape that cannot be answered (out of memory,
 *	a text past APIMETRICS_BODY_MAX) is a 500 and one log line;
 *	libmicrohttpd's own messages are logged as event=metrics-error.
 */
#include "ac-config.h"

#include "apimetrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "store.h"

#define APIMETRICS_TEXT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define APIMETRICS_REASON_MAX 512
#define APIMETRICS_ROUTES ((size_t)APIROUTE_RELEASE + 1)

/* Set by apimetrics_start(); the server's thread reads them. */
static struct store *apimetrics_st;
static const char *apimetrics_state_dir;
static struct metrics apimetrics_registry;
static struct MHD_Daemon *apimetrics_mhd;
static _Atomic bool apimetrics_stop_begun;

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

/* apimetrics_logger - libmicrohttpd's messages into our log. */
static void
apimetrics_logger(void *arg, const char *fmt, va_list ap)
{
	struct log_line line;
	char msg[512];
	size_t n;

	(void)arg;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_line_init(&line);
	log_field(&line, "event", "metrics-error");
	log_field(&line, "error", msg); /* may quote a client's request */
	log_emit(LOG_WARNING, &line);
}

/* apimetrics_health - why the API is not serving; NULL when it is. */
static const char *
apimetrics_health(char *why, size_t whylen)
{
	char err[256];
	size_t n;

	if (atomic_load(&apimetrics_stop_begun))
		return "stopping";
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

/* apimetrics_answer - queue len octets of body (freed by libmicrohttpd)
 * with status and type. */
static enum MHD_Result
apimetrics_answer(struct MHD_Connection *conn, unsigned status, char *body,
                  size_t len, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* apimetrics_text - answer a short text: prefix, then what, a line. */
static enum MHD_Result
apimetrics_text(struct MHD_Connection *conn, unsigned status,
                const char *prefix, const char *what)
{
	char *body = malloc(APIMETRICS_REASON_MAX + 64);
	int n;

	if (body == NULL)
		return MHD_NO;
	n = snprintf(body, APIMETRICS_REASON_MAX + 64, "%s%s\n", prefix, what);
	if (n < 0)
		n = 0;
	if ((size_t)n >= APIMETRICS_REASON_MAX + 64)
		n = APIMETRICS_REASON_MAX + 63;
	return apimetrics_answer(conn, status, body, (size_t)n,
	                         "text/plain; charset=utf-8");
}

/* apimetrics_metrics - the registry's text (rendered again once in a
 * buffer of the size it needs). */
static enum MHD_Result
apimetrics_metrics(struct MHD_Connection *conn)
{
	size_t cap = 16384, need;
	char *buf = malloc(cap);

	if (buf == NULL)
		return apimetrics_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "",
		                       "out of memory");
	need = metrics_render(&apimetrics_registry, buf, cap);
	if (need >= cap && need < APIMETRICS_BODY_MAX) {
		char *grown = realloc(buf, need + 1);

		if (grown != NULL) {
			buf = grown;
			cap = need + 1;
			need = metrics_render(&apimetrics_registry, buf, cap);
		}
	}
	if (need >= cap) {
		free(buf);
		log_msg(LOG_ERR,
		        "event=metrics-error error=\"the metrics text needs "
		        "%zu octets (at most %d)\"",
		        need, APIMETRICS_BODY_MAX);
		return apimetrics_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "",
		                       "metrics text too large");
	}
	return apimetrics_answer(conn, MHD_HTTP_OK, buf, need,
	                         APIMETRICS_TEXT_TYPE);
}

/* apimetrics_access - libmicrohttpd's access handler: route, answer. */
static enum MHD_Result
apimetrics_access(void *cls, struct MHD_Connection *conn, const char *url,
                  const char *method, const char *version,
                  const char *upload_data, size_t *upload_data_size,
                  void **con_cls)
{
	static int first;
	char why[APIMETRICS_REASON_MAX];
	const char *reason;

	(void)cls;
	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) {
		*con_cls = &first; /* the headers are in; a body may follow */
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0; /* a body is read and ignored */
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return apimetrics_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "",
		                       "only GET and HEAD");
	if (strcmp(url, "/metrics") == 0)
		return apimetrics_metrics(conn);
	if (strcmp(url, "/healthz") == 0) {
		if ((reason = apimetrics_health(why, sizeof(why))) == NULL)
			return apimetrics_text(conn, MHD_HTTP_OK, "", "ok");
		return apimetrics_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		                       "unavailable: ", reason);
	}
	return apimetrics_text(conn, MHD_HTTP_NOT_FOUND, "",
	                       "not found (/metrics, /healthz)");
}

int
apimetrics_open(const struct config_listen *l, char *err, size_t errlen)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	const int on = 1;
	int fd;

	if (l->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(l->port);
		inet_pton(AF_INET6, l->addr, &s6->sin6_addr);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(l->port);
		inet_pton(AF_INET, l->addr, &s4->sin_addr);
		len = sizeof(*s4);
	}
	if ((fd = socket(l->family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
	    (l->family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0) ||
	    bind(fd, (struct sockaddr *)&ss, len) != 0 ||
	    listen(fd, SOMAXCONN) != 0) {
		snprintf(err, errlen, "APIMetricsListen %s%s%s:%u: %s",
		         l->family == AF_INET6 ? "[" : "", l->addr,
		         l->family == AF_INET6 ? "]" : "", (unsigned)l->port,
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
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
	apimetrics_mhd = MHD_start_daemon(
	    MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, apimetrics_access, NULL,
	    /* first, or libmicrohttpd warns on stderr */
	    MHD_OPTION_EXTERNAL_LOGGER, apimetrics_logger, NULL,
	    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)APIMETRICS_CONNECTIONS_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)APIMETRICS_TIMEOUT_SECONDS,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)APIMETRICS_MEMORY_MAX,
	    MHD_OPTION_END);
	if (apimetrics_mhd == NULL) {
		snprintf(err, errlen,
		         "APIMetricsListen: libmicrohttpd could not start its "
		         "server");
		close(fd);
		return -1;
	}
	return 0;
}

void
apimetrics_stopping(void)
{
	atomic_store(&apimetrics_stop_begun, true);
}

void
apimetrics_stop(void)
{
	if (apimetrics_mhd != NULL)
		MHD_stop_daemon(apimetrics_mhd);
	apimetrics_mhd = NULL;
}
