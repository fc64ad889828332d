/*
 * apiproblem.h - authready-api's errors as RFC 9457 problem details.
 *
 * SYNOPSIS
 *	#include "apiproblem.h"
 *
 *	The functions: see apiproblem.c.
 *
 * DESCRIPTION
 *	Every error the API answers is one row of a table: its HTTP status,
 *	its stable type URI (urn:authready:problem:SLUG) and its title.  A
 *	client keys on the type; the detail sentence may change.
 */
#ifndef AUTHREADY_APIPROBLEM_H
#define AUTHREADY_APIPROBLEM_H

#include <stddef.h>

enum apiproblem_kind {
	APIPROBLEM_NONE = 0,
	APIPROBLEM_BAD_JSON, /* body is not a JSON object */
	APIPROBLEM_UNKNOWN_FIELD,
	APIPROBLEM_INVALID_FIELD,
	APIPROBLEM_INVALID_DOMAIN,
	APIPROBLEM_INVALID_QUERY,
	APIPROBLEM_INVALID_CSV,
	APIPROBLEM_UNSUPPORTED_MEDIA,
	APIPROBLEM_UNAUTHORIZED,
	APIPROBLEM_FORBIDDEN,
	APIPROBLEM_NOT_FOUND, /* no such route */
	APIPROBLEM_DOMAIN_NOT_FOUND,
	APIPROBLEM_METHOD,
	APIPROBLEM_EXISTS,
	APIPROBLEM_HELD,
	APIPROBLEM_TIMEOUT,
	APIPROBLEM_TOO_LARGE,
	APIPROBLEM_HEADERS_TOO_LARGE, /* past API_HEADER_MAX */
	APIPROBLEM_THROTTLED,
	APIPROBLEM_STORE,
	APIPROBLEM_RELEASE,
	APIPROBLEM_DB_REFUSED,
	APIPROBLEM_BUSY,
	APIPROBLEM_DB_DOWN,
	APIPROBLEM_COUNT
};

/* apiproblem_status - the HTTP status of kind. */
unsigned apiproblem_status(enum apiproblem_kind kind);

/* apiproblem_type - "urn:authready:problem:SLUG". */
const char *apiproblem_type(enum apiproblem_kind kind);

/*
 * apiproblem_body - the application/problem+json body of kind with the
 * detail sentence (sanitized: no control characters) and the instance
 * (the request path, or NULL); malloc'd, NULL when out of memory.
 */
char *apiproblem_body(enum apiproblem_kind kind, const char *detail,
                      const char *instance);

#endif
