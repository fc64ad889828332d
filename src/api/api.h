/*
 * api.h - authready-api(8)'s HTTP server: libmicrohttpd and the routes.
 *
 * SYNOPSIS
 *	#include "api.h"
 *
 *	int api_start(struct api *api, int listen_fd, char *err,
 *	    size_t errlen);
 *	void api_stop(struct api *api);
 *
 * DESCRIPTION
 *	api.c answers the routes of docs/openapi.json on a listening socket
 *	authready-api.c opened: every request authenticated by a bearer
 *	token, JSON in and out with jansson, every error an RFC 9457
 *	problem (apiproblem.c).  The registry operations are regops.c's,
 *	the ones authready(1) uses.
 */
#ifndef AUTHREADY_API_H
#define AUTHREADY_API_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "apitoken.h"
#include "configfile.h"
#include "store.h"

#define API_BODY_MAX (1024 * 1024)        /* octets of a JSON body */
#define API_IMPORT_MAX (64 * 1024 * 1024) /* octets of an import CSV */
#define API_HEADER_MAX (32 * 1024)        /* octets of the header fields */
/* libmicrohttpd's memory per connection: the header block is read into
 * it with the connection's buffers, so it is well above API_HEADER_MAX
 * (a block past API_HEADER_MAX is answered by api.c, 431 problem+json;
 * one that does not fit here gets libmicrohttpd's own 431). */
#define API_MHD_MEMORY (128 * 1024)
#define API_THREADS 4     /* libmicrohttpd's pool */
#define API_CONN_SLACK 64 /* connections past the limit answered 503 */

struct api {
	const struct config *cfg;
	struct store *st;
	struct apitoken_set tokens;
	pthread_rwlock_t tokens_lock; /* SIGUSR1 swaps the tokens */
	atomic_uint tokens_gen;       /* and counts the swaps, under the lock */
	char *tls_cert;               /* PEM, when APITLSCertificate is set */
	char *tls_key;
	pthread_mutex_t throttle_lock;
	struct apitoken_throttle *throttle;
	atomic_uint conns; /* open connections */
	struct MHD_Daemon *mhd;
};

/* api_start - serve on listen_fd (libmicrohttpd's threads); 0, or -1
 * with err. */
int api_start(struct api *api, int listen_fd, char *err, size_t errlen);

/* api_stop - stop serving; requests in progress end first. */
void api_stop(struct api *api);

#endif
