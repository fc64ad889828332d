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
 *	libmicrohttpd runs one thread of its own (epoll or poll, never
 *	select: the daemon's descriptors go past FD_SETSIZE), at most
 *	METRICSD_CONNECTIONS_MAX connections, each closed after
 *	METRICSD_TIMEOUT_SECONDS idle, a request's headers bounded by
 *	METRICSD_MEMORY_MAX.  Only GET and HEAD of /metrics and /healthz
 *	are answered (405 with Allow for another method, 404 for another
 *	path); a request body is read and ignored.
 *
 *	/metrics renders the registry (metrics_render) into a buffer sized
 *	by the previous scrape, grown once when the text needs more, at
 *	most METRICSD_BODY_MAX; the held index's size (store_held_count,
 *	LMDB's page count, not a walk), the webhook outbox's size
 *	(store_outbox_count, LMDB's entry count) and the replica's lag are
 *	read as the text is written.  Nothing here touches a decision: the
 *	deciding threads only add to the counters.
 *
 *	/healthz, in order: a stop has begun; the state store's data.mdb
 *	was removed or replaced under the daemon (store_replaced: the
 *	daemon would decide on a file no CLI sees); the store cannot be
 *	read; the checker thread is stopping or stalled (checkerd_alive).
 *	The first that holds is the 503's reason; none: 200 "ok".
 *
 * DIAGNOSTICS
 *	metricsd_open() and metricsd_start() fail with a sentence (the
 *	daemon exits 78); a scrape that cannot be answered (out of memory,
 *	a text past METRICSD_BODY_MAX) is a 500 and one log line;
 *	libmicrohttpd's own messages are logged as event=metrics-error.
 */
#include "ac-config.h"

#include "metricsd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "checkerd.h"
#include "decide.h"
#include "dns.h"
#include "log.h"
#include "metrics.h"
#include "replica.h"
#include "store.h"
#include "webhookd.h"

#define METRICSD_TEXT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICSD_REASON_MAX 512

/* Set by metricsd_start(); the server's thread reads them. */
static struct metricsd_env metricsd_env;
static struct metrics metricsd_registry;
static struct MHD_Daemon *metricsd_mhd;
static size_t metricsd_size_hint = 16384; /* the server's thread only */
static _Atomic bool metricsd_stop_begun;

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

/* metricsd_logger - libmicrohttpd's messages into our log. */
static void
metricsd_logger(void *arg, const char *fmt, va_list ap)
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

/* metricsd_health - why the daemon is not serving; NULL when it is. */
static const char *
metricsd_health(char *why, size_t whylen)
{
	char err[256];
	size_t n;

	if (atomic_load(&metricsd_stop_begun))
		return "stopping";
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

/* metricsd_answer - queue a response of len bytes of body (taken: freed
 * by libmicrohttpd) with status and type. */
static enum MHD_Result
metricsd_answer(struct MHD_Connection *conn, unsigned status, char *body,
                size_t len, const char *type, bool must_free)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	r = MHD_create_response_from_buffer(len, body,
	                                    must_free ? MHD_RESPMEM_MUST_FREE
	                                              : MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		if (must_free)
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

/* metricsd_text - answer a short text: prefix, then what, a line. */
static enum MHD_Result
metricsd_text(struct MHD_Connection *conn, unsigned status, const char *prefix,
              const char *what)
{
	char *body = malloc(METRICSD_REASON_MAX + 64);
	int n;

	if (body == NULL)
		return MHD_NO;
	n = snprintf(body, METRICSD_REASON_MAX + 64, "%s%s\n", prefix, what);
	if (n < 0)
		n = 0;
	if ((size_t)n >= METRICSD_REASON_MAX + 64)
		n = METRICSD_REASON_MAX + 63;
	return metricsd_answer(conn, status, body, (size_t)n,
	                       "text/plain; charset=utf-8", true);
}

/* metricsd_metrics - the registry's text, in a buffer sized by the last
 * scrape (grown once when it no longer fits). */
static enum MHD_Result
metricsd_metrics(struct MHD_Connection *conn)
{
	size_t cap = metricsd_size_hint, need;
	char *buf = malloc(cap);

	if (buf == NULL)
		return metricsd_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "",
		                     "out of memory");
	need = metrics_render(&metricsd_registry, buf, cap);
	if (need >= cap && need < METRICSD_BODY_MAX) {
		char *grown = realloc(buf, need + 1);

		if (grown != NULL) {
			buf = grown;
			cap = need + 1;
			need = metrics_render(&metricsd_registry, buf, cap);
		}
	}
	if (need >= cap) {
		free(buf);
		log_msg(LOG_ERR,
		        "event=metrics-error error=\"the metrics text needs "
		        "%zu octets (at most %d)\"",
		        need, METRICSD_BODY_MAX);
		return metricsd_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "",
		                     "metrics text too large");
	}
	metricsd_size_hint = cap > need + need / 4 ? cap : need + need / 4;
	return metricsd_answer(conn, MHD_HTTP_OK, buf, need, METRICSD_TEXT_TYPE,
	                       true);
}

/* metricsd_request - libmicrohttpd's access handler: route and answer. */
static enum MHD_Result
metricsd_request(void *cls, struct MHD_Connection *conn, const char *url,
                 const char *method, const char *version,
                 const char *upload_data, size_t *upload_data_size,
                 void **con_cls)
{
	static int first;
	char why[METRICSD_REASON_MAX];
	const char *reason;

	(void)cls;
	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) {
		/* the headers are in; the body (if any) comes next */
		*con_cls = &first;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0; /* a body is read and ignored */
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return metricsd_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "",
		                     "only GET and HEAD");
	if (strcmp(url, "/metrics") == 0)
		return metricsd_metrics(conn);
	if (strcmp(url, "/healthz") == 0) {
		if ((reason = metricsd_health(why, sizeof(why))) == NULL)
			return metricsd_text(conn, MHD_HTTP_OK, "", "ok");
		return metricsd_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		                     "unavailable: ", reason);
	}
	return metricsd_text(conn, MHD_HTTP_NOT_FOUND, "",
	                     "not found (/metrics, /healthz)");
}

int
metricsd_open(const struct config_listen *l, char *err, size_t errlen)
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
		snprintf(err, errlen, "MetricsListen %s%s%s:%u: %s",
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
	metricsd_mhd = MHD_start_daemon(
	    MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, metricsd_request, NULL,
	    /* first, or libmicrohttpd warns on stderr */
	    MHD_OPTION_EXTERNAL_LOGGER, metricsd_logger, NULL,
	    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)METRICSD_CONNECTIONS_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)METRICSD_TIMEOUT_SECONDS,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICSD_MEMORY_MAX,
	    MHD_OPTION_END);
	if (metricsd_mhd == NULL) {
		snprintf(err, errlen,
		         "MetricsListen: libmicrohttpd could not start its "
		         "server");
		close(fd);
		return -1;
	}
	return 0;
}

void
metricsd_stopping(void)
{
	atomic_store(&metricsd_stop_begun, true);
}

void
metricsd_stop(void)
{
	if (metricsd_mhd != NULL)
		MHD_stop_daemon(metricsd_mhd);
	metricsd_mhd = NULL;
}
