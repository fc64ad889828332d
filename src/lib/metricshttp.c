/*
 * metricshttp.c - the HTTP listener of /metrics and /healthz; see
 *	metricshttp.h.
 *
 * SYNOPSIS
 *	int metricshttp_open(l, key, err, errlen);
 *	int metricshttp_start(mh, fd, err, errlen);
 *	void metricshttp_stopping(mh);
 *	void metricshttp_stop(mh);
 *
 * DESCRIPTION
 *	One access handler for both daemons: the method, then the path,
 *	then /metrics (the registry's text) or /healthz (stopping, then the
 *	caller's health callback).  Answers are short texts or the
 *	registry's, each queued with Cache-Control: no-store.
 *
 * DIAGNOSTICS
 *	Failures to open or start name the listener's key; a /metrics text
 *	that cannot be built is a 500 and an event=metrics-error line;
 *	libmicrohttpd's messages are logged as event=metrics-error.
 */
#include "metricshttp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define METRICSHTTP_TEXT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICSHTTP_FIRST_SIZE 16384 /* the first scrape's buffer */

/* metricshttp_logger - libmicrohttpd's messages into our log. */
static void
metricshttp_logger(void *arg, const char *fmt, va_list ap)
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

/* metricshttp_answer - queue len octets of body (taken: freed by
 * libmicrohttpd) with status and type. */
static enum MHD_Result
metricshttp_answer(struct MHD_Connection *conn, unsigned status, char *body,
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

/* metricshttp_text - answer a short text: prefix, then what, a line. */
static enum MHD_Result
metricshttp_text(struct MHD_Connection *conn, unsigned status,
                 const char *prefix, const char *what)
{
	char *body = malloc(METRICSHTTP_REASON_MAX + 64);
	int n;

	if (body == NULL)
		return MHD_NO;
	n = snprintf(body, METRICSHTTP_REASON_MAX + 64, "%s%s\n", prefix, what);
	if (n < 0)
		n = 0;
	if ((size_t)n >= METRICSHTTP_REASON_MAX + 64)
		n = METRICSHTTP_REASON_MAX + 63;
	return metricshttp_answer(conn, status, body, (size_t)n,
	                          "text/plain; charset=utf-8");
}

/* metricshttp_metrics - the registry's text, in a buffer sized by the
 * last scrape (grown, with room, when it no longer fits). */
static enum MHD_Result
metricshttp_metrics(struct metricshttp *mh, struct MHD_Connection *conn)
{
	size_t cap = mh->size_hint ? mh->size_hint : METRICSHTTP_FIRST_SIZE;
	size_t need;
	char *buf = malloc(cap);

	if (buf == NULL)
		return metricshttp_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		                        "", "out of memory");
	need = metrics_render(mh->registry, buf, cap);
	/* Grown with room to spare: the counters move between two renders
	 * (a number gains a digit, a label value its first sample), so a
	 * buffer of exactly the last size may already be short. */
	for (int tries = 0; need >= cap && need < mh->body_max && tries < 3;
	     tries++) {
		size_t want = need + need / 4 + 256;
		char *grown;

		if (want > mh->body_max)
			want = mh->body_max;
		if ((grown = realloc(buf, want)) == NULL)
			break;
		buf = grown;
		cap = want;
		need = metrics_render(mh->registry, buf, cap);
	}
	if (need >= cap) {
		free(buf);
		log_msg(LOG_ERR,
		        "event=metrics-error error=\"the metrics text needs "
		        "%zu octets (at most %zu)\"",
		        need, mh->body_max);
		return metricshttp_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		                        "", "metrics text too large");
	}
	mh->size_hint = cap > need + need / 4 ? cap : need + need / 4;
	return metricshttp_answer(conn, MHD_HTTP_OK, buf, need,
	                          METRICSHTTP_TEXT_TYPE);
}

/* metricshttp_health - why the daemon is not serving; NULL when it is. */
static const char *
metricshttp_health(struct metricshttp *mh, char *why, size_t whylen)
{
	if (atomic_load(&mh->stop_begun))
		return "stopping";
	return mh->health != NULL ? mh->health(mh->health_arg, why, whylen)
	                          : NULL;
}

/* metricshttp_access - libmicrohttpd's access handler: route, answer. */
static enum MHD_Result
metricshttp_access(void *cls, struct MHD_Connection *conn, const char *url,
                   const char *method, const char *version,
                   const char *upload_data, size_t *upload_data_size,
                   void **con_cls)
{
	static int first;
	struct metricshttp *mh = cls;
	char why[METRICSHTTP_REASON_MAX];
	const char *reason;

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
		return metricshttp_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "",
		                        "only GET and HEAD");
	if (strcmp(url, "/metrics") == 0)
		return metricshttp_metrics(mh, conn);
	if (strcmp(url, "/healthz") == 0) {
		if ((reason = metricshttp_health(mh, why, sizeof(why))) == NULL)
			return metricshttp_text(conn, MHD_HTTP_OK, "", "ok");
		return metricshttp_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		                        "unavailable: ", reason);
	}
	return metricshttp_text(conn, MHD_HTTP_NOT_FOUND, "",
	                        "not found (/metrics, /healthz)");
}

int
metricshttp_open(const struct config_listen *l, const char *key, char *err,
                 size_t errlen)
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
		snprintf(err, errlen, "%s %s%s%s:%u: %s", key,
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
metricshttp_start(struct metricshttp *mh, int fd, char *err, size_t errlen)
{
	atomic_store(&mh->stop_begun, false);
	mh->mhd = MHD_start_daemon(
	    MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, metricshttp_access, mh,
	    /* first, or libmicrohttpd warns on stderr */
	    MHD_OPTION_EXTERNAL_LOGGER, metricshttp_logger, NULL,
	    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)METRICSHTTP_CONNECTIONS_MAX,
	    MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)METRICSHTTP_TIMEOUT_SECONDS,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICSHTTP_MEMORY_MAX,
	    MHD_OPTION_END);
	if (mh->mhd == NULL) {
		snprintf(err, errlen,
		         "%s: libmicrohttpd could not start its server",
		         mh->key);
		close(fd);
		return -1;
	}
	return 0;
}

void
metricshttp_stopping(struct metricshttp *mh)
{
	atomic_store(&mh->stop_begun, true);
}

void
metricshttp_stop(struct metricshttp *mh)
{
	if (mh->mhd != NULL)
		MHD_stop_daemon(mh->mhd);
	mh->mhd = NULL;
}
