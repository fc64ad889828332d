/*
 * api_null.c - a plain libmicrohttpd server that answers every request
 * with one fixed JSON body: the floor bench_api.sh measures against.
 *
 * SYNOPSIS
 *	api_null PORT [BODYFILE]
 *
 * DESCRIPTION
 *	Listens on 127.0.0.1:PORT with authready-api's libmicrohttpd setup
 *	under its default config: the threading (internal epoll threads, a
 *	pool of API_THREADS), the connection limit, the connection timeout
 *	(its bookkeeping is libmicrohttpd's work per request, not the
 *	API's) and the memory per connection.  Answers 200 with the headers
 *	authready-api gives a status answer (Content-Type and
 *	Cache-Control: no-store) and a JSON body built once: the contents
 *	of BODYFILE (bench_api.sh saves the API's own answer there, so both
 *	servers send the same octets), else a status answer of a verified
 *	domain.  No routing, no token, no store, no JSON work, no log line.
 *	Runs until SIGTERM or SIGINT.
 *
 * EXIT STATUS
 *	0 after a signal, 64 usage, 66 BODYFILE unreadable, 69 the port.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

/* authready-api's libmicrohttpd options with the default config: */
#define NULL_THREADS 4                 /* API_THREADS (src/api/api.h) */
#define NULL_CONNECTIONS (1024 + 64)   /* APIMaxConnections + API_CONN_SLACK */
#define NULL_TIMEOUT_S 30              /* APIRequestTimeout */
#define NULL_MEMORY_LIMIT (128 * 1024) /* API_MHD_MEMORY */
#define NULL_BODY_MAX (1024 * 1024)    /* octets of BODYFILE */

static const char fixed_body[] =
    "{\"domain\":\"example.com\",\"state\":\"verified\",\"since\":"
    "\"2026-12-05T10:00:00Z\",\"last_check\":\"2026-12-05T10:00:00Z\","
    "\"last_success\":\"2026-12-05T10:00:00Z\",\"next_check\":"
    "\"2026-12-06T10:00:00Z\",\"dns_errors\":0,\"registered\":true,"
    "\"organizational_domain\":\"example.com\",\"summary\":\"verified "
    "since 2026-12-05T10:00:00Z: every record is published\",\"records\":"
    "[{\"type\":\"spf\",\"name\":\"mail.example.com\",\"status\":\"pass\","
    "\"detail\":\"v=spf1 include:amazonses.com ~all\"},{\"type\":\"dkim\","
    "\"name\":\"1234rpr._domainkey.example.com\",\"status\":\"pass\","
    "\"detail\":\"key matches\"},{\"type\":\"dmarc\",\"name\":"
    "\"_dmarc.example.com\",\"status\":\"pass\",\"detail\":\"p=none\"},"
    "{\"type\":\"mx\",\"name\":\"mail.example.com\",\"status\":\"pass\","
    "\"detail\":\"feedback-smtp.example.net\"}],\"held\":[]}";

static struct MHD_Response *response;

/* null_read_body - BODYFILE, whole, in a malloc'd buffer; NULL when it
 * cannot be read or is longer than NULL_BODY_MAX. */
static char *
null_read_body(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = f ? malloc(NULL_BODY_MAX + 1) : NULL;

	*len = buf ? fread(buf, 1, NULL_BODY_MAX + 1, f) : 0;
	if (buf != NULL && (ferror(f) || *len > NULL_BODY_MAX)) {
		free(buf);
		buf = NULL;
	}
	if (f != NULL)
		fclose(f);
	return buf;
}

/* null_access - the fixed answer. */
static enum MHD_Result
null_access(void *cls, struct MHD_Connection *c, const char *url,
            const char *method, const char *version, const char *data,
            size_t *size, void **con_cls)
{
	static int first;

	(void)cls, (void)url, (void)method, (void)version, (void)data;
	/* A response queued at the first call closes the connection
	 * (libmicrohttpd 0.9.75): answer at the second, as api.c does. */
	if (*con_cls == NULL) {
		*con_cls = &first;
		return MHD_YES;
	}
	if (*size != 0) {
		*size = 0;
		return MHD_YES;
	}
	return MHD_queue_response(c, 200, response);
}

int
main(int argc, char **argv)
{
	struct MHD_Daemon *d;
	char *body = (char *)fixed_body;
	size_t len = strlen(fixed_body);
	sigset_t set;
	int sig;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: api_null PORT [BODYFILE]\n");
		return 64;
	}
	if (argc == 3 && (body = null_read_body(argv[2], &len)) == NULL) {
		fprintf(stderr,
		        "api_null: cannot read %s (at most %d octets)\n",
		        argv[2], NULL_BODY_MAX);
		return 66;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	response =
	    MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        "application/json");
	MHD_add_response_header(response, "Cache-Control", "no-store");
	d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL,
	    (uint16_t)atoi(argv[1]), NULL, NULL, null_access, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)NULL_THREADS,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)NULL_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)NULL_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)NULL_MEMORY_LIMIT,
	    MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "api_null: cannot listen on %s\n", argv[1]);
		return 69;
	}
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	MHD_destroy_response(response);
	if (body != fixed_body)
		free(body);
	return 0;
}
