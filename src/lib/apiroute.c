/*
 * apiroute.c - authready-api's routes and request parsing (pure).
 *
 * SYNOPSIS
 *	int apiroute_match(method, path, len, m, why, whylen);
 *	int apiroute_list_query(state, limit, after, q, why, whylen);
 *	int apiroute_reg_json(body, len, now, defs, reg, why, whylen);
 *
 * DESCRIPTION
 *	apiroute_shapes[] are the paths (a fixed one, or /v1/domains/{domain}
 *	with a suffix) with the methods each takes; apiroute_table[] maps a
 *	shape and a method to a route and whether it writes.  Nothing else
 *	is a route: a trailing slash, an empty or extra segment, an unknown
 *	suffix are 404; a known path with another method is 405 with the
 *	Allow header.  The {domain} segment goes through domain_normalize()
 *	(the CLI's rules: IDN to A-labels, lowercase, no trailing dot);
 *	one longer than a domain can be is refused before it is read.
 *
 *	The JSON body is parsed by jansson (duplicate keys refused, no NUL
 *	in strings); each known field is set through regimport_set() or
 *	regimport_add_selector(), so the API accepts exactly what `domain
 *	add` and `domain import` accept, and the entry is judged by
 *	regimport_validate().  An unknown field is an error, never ignored.
 *
 * DIAGNOSTICS
 *	An enum apiproblem_kind with a sentence in why.
 */
#include "apiroute.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "domainname.h"
#include "state.h"

#define APIROUTE_PREFIX "/v1/domains/"

enum apiroute_shape {
	SHAPE_DOMAINS = 0, /* /v1/domains */
	SHAPE_IMPORT,      /* /v1/domains:import */
	SHAPE_DOMAIN,      /* /v1/domains/{domain} */
	SHAPE_RECORDS,     /* ... /records */
	SHAPE_REFRESH,
	SHAPE_HELD,
	SHAPE_RELEASE,
	SHAPE_COUNT
};

static const struct {
	const char *path; /* the whole path, or the suffix after {domain} */
	bool has_domain;
	const char *allow;
} apiroute_shapes[SHAPE_COUNT] = {
    [SHAPE_DOMAINS] = {"/v1/domains", false, "GET, POST"},
    [SHAPE_IMPORT] = {"/v1/domains:import", false, "POST"},
    [SHAPE_DOMAIN] = {"", true, "GET, DELETE"},
    [SHAPE_RECORDS] = {"/records", true, "GET"},
    [SHAPE_REFRESH] = {"/refresh", true, "POST"},
    [SHAPE_HELD] = {"/held", true, "GET"},
    [SHAPE_RELEASE] = {"/release", true, "POST"},
};

static const struct {
	enum apiroute_shape shape;
	const char *method;
	enum apiroute_id id;
	bool write;
} apiroute_table[] = {
    {SHAPE_DOMAINS, "GET", APIROUTE_LIST, false},
    {SHAPE_DOMAINS, "POST", APIROUTE_ADD, true},
    {SHAPE_IMPORT, "POST", APIROUTE_IMPORT, true},
    {SHAPE_DOMAIN, "GET", APIROUTE_GET, false},
    {SHAPE_DOMAIN, "DELETE", APIROUTE_DELETE, true},
    {SHAPE_RECORDS, "GET", APIROUTE_RECORDS, false},
    {SHAPE_REFRESH, "POST", APIROUTE_REFRESH, true},
    {SHAPE_HELD, "GET", APIROUTE_HELD, false},
    {SHAPE_RELEASE, "POST", APIROUTE_RELEASE, true},
};

/* apiroute_shape_of - the shape of path, the {domain} segment in *seg. */
static int
apiroute_shape_of(const char *path, size_t len, const char **seg,
                  size_t *seglen)
{
	size_t plen = strlen(APIROUTE_PREFIX), i, end;

	*seg = NULL;
	*seglen = 0;
	for (i = 0; i < SHAPE_COUNT; i++)
		if (!apiroute_shapes[i].has_domain &&
		    strlen(apiroute_shapes[i].path) == len &&
		    memcmp(apiroute_shapes[i].path, path, len) == 0)
			return (int)i;
	if (len <= plen || memcmp(path, APIROUTE_PREFIX, plen) != 0)
		return -1;
	for (end = plen; end < len && path[end] != '/'; end++)
		continue;
	*seg = path + plen;
	*seglen = end - plen;
	for (i = 0; i < SHAPE_COUNT; i++) {
		const char *suffix = apiroute_shapes[i].path;

		if (apiroute_shapes[i].has_domain &&
		    strlen(suffix) == len - end &&
		    memcmp(suffix, path + end, len - end) == 0)
			return (int)i;
	}
	return -1;
}

int
apiroute_match(const char *method, const char *path, size_t len,
               struct apiroute_match *m, char *why, size_t whylen)
{
	const char *seg;
	size_t seglen, i;
	int shape;

	memset(m, 0, sizeof(*m));
	if (len > APIROUTE_PATH_MAX ||
	    (shape = apiroute_shape_of(path, len, &seg, &seglen)) < 0) {
		snprintf(why, whylen, "no such route");
		return APIPROBLEM_NOT_FOUND;
	}
	for (i = 0; i < sizeof(apiroute_table) / sizeof(*apiroute_table); i++)
		if (apiroute_table[i].shape == (enum apiroute_shape)shape &&
		    strcmp(apiroute_table[i].method, method) == 0)
			break;
	if (i == sizeof(apiroute_table) / sizeof(*apiroute_table)) {
		m->allow = apiroute_shapes[shape].allow;
		snprintf(why, whylen, "this route takes %s", m->allow);
		return APIPROBLEM_METHOD;
	}
	m->id = apiroute_table[i].id;
	m->write = apiroute_table[i].write;
	if (!apiroute_shapes[shape].has_domain)
		return 0;
	if (seglen > DOMAIN_MAX + 1) {
		snprintf(
		    why, whylen,
		    "the domain is %zu octets long; a domain has at most %d",
		    seglen, DOMAIN_MAX);
		return APIPROBLEM_INVALID_DOMAIN;
	}
	if (domain_normalize(seg, seglen, m->domain, sizeof(m->domain), why,
	                     whylen) != 0)
		return APIPROBLEM_INVALID_DOMAIN;
	return 0;
}

int
apiroute_list_query(const char *state, const char *limit, const char *after,
                    struct apiroute_list *q, char *why, size_t whylen)
{
	char *end;
	unsigned long n;
	int s;

	memset(q, 0, sizeof(*q));
	q->state = -1;
	q->limit = APIROUTE_LIMIT_DEFAULT;
	if (state != NULL) {
		for (s = READINESS_UNKNOWN; s <= READINESS_FAILED; s++)
			if (strcmp(state, state_readiness_name(
			                      (enum domain_readiness)s)) == 0)
				break;
		if (s > READINESS_FAILED) {
			snprintf(why, whylen,
			         "state must be unknown, pending, verified, "
			         "degraded or failed");
			return APIPROBLEM_INVALID_QUERY;
		}
		q->state = s;
	}
	if (limit != NULL) {
		if (limit[0] < '0' || limit[0] > '9' || strlen(limit) > 7 ||
		    (n = strtoul(limit, &end, 10)) == 0 || *end != '\0' ||
		    n > APIROUTE_LIMIT_MAX) {
			snprintf(why, whylen,
			         "limit must be a count between 1 and %d",
			         APIROUTE_LIMIT_MAX);
			return APIPROBLEM_INVALID_QUERY;
		}
		q->limit = n;
	}
	if (after != NULL &&
	    domain_normalize(after, strlen(after), q->after, sizeof(q->after),
	                     why, whylen) != 0)
		return APIPROBLEM_INVALID_QUERY;
	return 0;
}

/* The fields of POST /v1/domains, each a column of the shared setter. */
enum apiroute_field_kind { FIELD_STRING, FIELD_STRINGS, FIELD_SELECTORS };

static const struct {
	const char *name;
	enum regimport_col col;
	enum apiroute_field_kind kind;
} apiroute_fields[] = {
    {"domain", REGIMPORT_DOMAIN, FIELD_STRING},
    {"mail_from", REGIMPORT_MAIL_FROM, FIELD_STRING},
    {"selectors", REGIMPORT_SELECTORS, FIELD_SELECTORS},
    {"mx", REGIMPORT_MX, FIELD_STRING},
    {"spf_include", REGIMPORT_SPF_INCLUDE, FIELD_STRING},
    {"egress_ips", REGIMPORT_EGRESS_IPS, FIELD_STRINGS},
    {"dmarc_min_policy", REGIMPORT_DMARC_MIN_POLICY, FIELD_STRING},
    {"contact", REGIMPORT_CONTACT, FIELD_STRING},
};

/* apiroute_set_string - one string value through regimport_set(). */
static int
apiroute_set_string(struct domain_reg *reg, const char *name,
                    enum regimport_col col, json_t *v, char *why, size_t whylen)
{
	char reason[REGIMPORT_ERR_MAX];

	if (!json_is_string(v)) {
		snprintf(why, whylen, "%s must be a string", name);
		return APIPROBLEM_INVALID_FIELD;
	}
	if (json_string_length(v) == 0) {
		snprintf(why, whylen, "%s must not be empty", name);
		return col == REGIMPORT_DOMAIN ? APIPROBLEM_INVALID_DOMAIN
		                               : APIPROBLEM_INVALID_FIELD;
	}
	if (regimport_set(reg, col, json_string_value(v), json_string_length(v),
	                  reason, sizeof(reason)) != 0) {
		snprintf(why, whylen, "%s: %s", name, reason);
		return col == REGIMPORT_DOMAIN ? APIPROBLEM_INVALID_DOMAIN
		                               : APIPROBLEM_INVALID_FIELD;
	}
	return 0;
}

/* apiroute_set_selector - "sel" or {"name": "sel", "key_file": PATH}. */
static int
apiroute_set_selector(struct domain_reg *reg, size_t index, json_t *v,
                      char *why, size_t whylen)
{
	char reason[REGIMPORT_ERR_MAX];
	json_t *name = v, *key = NULL, *value;
	const char *k;

	if (json_is_object(v)) {
		json_object_foreach(v, k, value)
		{
			if (strcmp(k, "name") != 0 &&
			    strcmp(k, "key_file") != 0) {
				snprintf(why, whylen,
				         "unknown field selectors[%zu].%.64s",
				         index, k);
				return APIPROBLEM_UNKNOWN_FIELD;
			}
		}
		name = json_object_get(v, "name");
		key = json_object_get(v, "key_file");
		if (key != NULL && !json_is_string(key)) {
			snprintf(why, whylen,
			         "selectors[%zu].key_file must be a string",
			         index);
			return APIPROBLEM_INVALID_FIELD;
		}
	}
	if (name == NULL || !json_is_string(name)) {
		snprintf(
		    why, whylen,
		    "selectors[%zu] must be a name or an object with a name",
		    index);
		return APIPROBLEM_INVALID_FIELD;
	}
	if (regimport_add_selector(reg, json_string_value(name),
	                           json_string_length(name),
	                           key ? json_string_value(key) : NULL,
	                           key ? json_string_length(key) : 0, reason,
	                           sizeof(reason)) != 0) {
		snprintf(why, whylen, "selectors[%zu]: %s", index, reason);
		return APIPROBLEM_INVALID_FIELD;
	}
	return 0;
}

/* apiroute_set_field - one field of the body into reg. */
static int
apiroute_set_field(struct domain_reg *reg, size_t f, json_t *v, char *why,
                   size_t whylen)
{
	const char *name = apiroute_fields[f].name;
	size_t i;
	json_t *item;
	int rc;

	if (apiroute_fields[f].kind == FIELD_STRING)
		return apiroute_set_string(reg, name, apiroute_fields[f].col, v,
		                           why, whylen);
	if (!json_is_array(v)) {
		snprintf(why, whylen, "%s must be an array", name);
		return APIPROBLEM_INVALID_FIELD;
	}
	json_array_foreach(v, i, item)
	{
		if (apiroute_fields[f].kind == FIELD_SELECTORS)
			rc = apiroute_set_selector(reg, i, item, why, whylen);
		else
			rc = apiroute_set_string(reg, name,
			                         apiroute_fields[f].col, item,
			                         why, whylen);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
apiroute_reg_json(const char *body, size_t len, int64_t now,
                  const struct regimport_defaults *defs, struct domain_reg *reg,
                  char *why, size_t whylen)
{
	const size_t nfields =
	    sizeof(apiroute_fields) / sizeof(*apiroute_fields);
	char reason[REGIMPORT_ERR_MAX];
	json_error_t je;
	json_t *root, *v;
	const char *key;
	size_t f;
	int rc = 0;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		snprintf(why, whylen, "line %d, column %d: %s", je.line,
		         je.column, je.text);
		return APIPROBLEM_BAD_JSON;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		snprintf(why, whylen, "the body must be a JSON object");
		return APIPROBLEM_BAD_JSON;
	}
	json_object_foreach(root, key, v)
	{
		for (f = 0; f < nfields; f++)
			if (strcmp(key, apiroute_fields[f].name) == 0)
				break;
		if (f == nfields) {
			snprintf(why, whylen, "unknown field %.64s", key);
			json_decref(root);
			return APIPROBLEM_UNKNOWN_FIELD;
		}
	}
	regimport_reg_init(reg, now);
	if (json_object_get(root, "domain") == NULL) {
		snprintf(why, whylen, "the field domain is required");
		rc = APIPROBLEM_INVALID_DOMAIN;
	}
	/* In table order: the domain before mail_from. */
	for (f = 0; rc == 0 && f < nfields; f++)
		if ((v = json_object_get(root, apiroute_fields[f].name)) !=
		    NULL)
			rc = apiroute_set_field(reg, f, v, why, whylen);
	json_decref(root);
	if (rc == 0 &&
	    regimport_validate(reg, defs, reason, sizeof(reason)) != 0) {
		snprintf(why, whylen, "%s: %s", reg->domain, reason);
		rc = APIPROBLEM_INVALID_FIELD;
	}
	return rc;
}
