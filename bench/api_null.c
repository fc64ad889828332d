/*
 * api_null.c - a plain libmicrohttpd server that answers every request
 * with one fixed JSON body: the floor bench_api.sh measures against.
 *
 * SYNOPSIS
 *	api_null PORT
 *
 * DESCRIPTION
 *	Listens on 127.0.0.1:PORT with the threading authready-api uses
 *	(libmicrohttpd's internal epoll threads, a pool of API_THREADS) and
 *	answers 200 with a JSON body of the size of a status answer, built
 *	once.  No routing, no token, no store, no JSON work, no log line.
 *	Runs until SIGTERM or SIGINT.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#define NULL_THREADS 4 /* API_THREADS of src/api/api.h */

static const char body[] =
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
	sigset_t set;
	int sig;

	if (argc != 2) {
		fprintf(stderr, "usage: api_null PORT\n");
		return 64;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	response = MHD_create_response_from_buffer(strlen(body), (void *)body,
	                                           MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        "application/json");
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL,
	                     (uint16_t)atoi(argv[1]), NULL, NULL, null_access,
	                     NULL, MHD_OPTION_THREAD_POOL_SIZE,
	                     (unsigned)NULL_THREADS, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "api_null: cannot listen on %s\n", argv[1]);
		return 69;
	}
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	MHD_destroy_response(response);
	return 0;
}
