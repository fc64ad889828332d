/*
 * apiroute.h - authready-api's routes and request parsing (pure).
 *
 * SYNOPSIS
 *	#include "apiroute.h"
 *
 *	The functions: see apiroute.c.
 *
 * DESCRIPTION
 *	What the API reads from a client, judged without I/O: the method and
 *	path against the route table, the domain in a path, the query of
 *	GET /v1/domains, and the JSON body of POST /v1/domains into a
 *	registry entry (each field through regimport_set(), the setter of
 *	`authready domain add` and `domain import`).  fuzz/fuzz_apireq.c
 *	drives all of it.
 */
#ifndef AUTHREADY_APIROUTE_H
#define AUTHREADY_APIROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apiproblem.h"
#include "domain.h"
#include "regimport.h"

#define APIROUTE_WHY_MAX 512
#define APIROUTE_LIMIT_DEFAULT 100
#define APIROUTE_LIMIT_MAX 1000
#define APIROUTE_PATH_MAX 1024 /* octets of a path we look at */

enum apiroute_id {
	APIROUTE_NONE = 0,
	APIROUTE_LIST,    /* GET /v1/domains */
	APIROUTE_ADD,     /* POST /v1/domains */
	APIROUTE_IMPORT,  /* POST /v1/domains:import */
	APIROUTE_GET,     /* GET /v1/domains/{domain} */
	APIROUTE_DELETE,  /* DELETE /v1/domains/{domain} */
	APIROUTE_RECORDS, /* GET /v1/domains/{domain}/records */
	APIROUTE_REFRESH, /* POST /v1/domains/{domain}/refresh */
	APIROUTE_HELD,    /* GET /v1/domains/{domain}/held */
	APIROUTE_RELEASE, /* POST /v1/domains/{domain}/release */
};

struct apiroute_match {
	enum apiroute_id id;
	bool write;              /* needs a write token */
	char domain[DOMAIN_BUF]; /* normalized, for the {domain} routes */
	const char *allow;       /* with APIPROBLEM_METHOD: the Allow header */
};

struct apiroute_list {
	int state;              /* enum domain_readiness; -1 every state */
	size_t limit;           /* 1..APIROUTE_LIMIT_MAX */
	char after[DOMAIN_BUF]; /* "" from the start */
};

/*
 * apiroute_match - the route of method and path[0..len) (decoded, no
 * query).  0 with *m; else an enum apiproblem_kind (NOT_FOUND, METHOD
 * with m->allow, INVALID_DOMAIN) with why.
 */
int apiroute_match(const char *method, const char *path, size_t len,
                   struct apiroute_match *m, char *why, size_t whylen);

/*
 * apiroute_list_query - state, limit and after (each NULL when absent) of
 * GET /v1/domains.  0 with *q; APIPROBLEM_INVALID_QUERY with why.
 */
int apiroute_list_query(const char *state, const char *limit, const char *after,
                        struct apiroute_list *q, char *why, size_t whylen);

/*
 * apiroute_reg_json - the body of POST /v1/domains (a JSON object of at
 * most len octets) into reg, added at now, validated as `domain add`
 * validates (regimport_validate with defs).  Key files are judged by
 * path only (the caller reads them).  0; else BAD_JSON, UNKNOWN_FIELD,
 * INVALID_FIELD or INVALID_DOMAIN with why.
 */
int apiroute_reg_json(const char *body, size_t len, int64_t now,
                      const struct regimport_defaults *defs,
                      struct domain_reg *reg, char *why, size_t whylen);

#endif
