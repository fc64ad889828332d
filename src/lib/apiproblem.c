/*
 * apiproblem.c - authready-api's errors as RFC 9457 problem details.
 *
 * SYNOPSIS
 *	unsigned apiproblem_status(enum apiproblem_kind kind);
 *	const char *apiproblem_type(enum apiproblem_kind kind);
 *	char *apiproblem_body(kind, detail, instance);
 *
 * DESCRIPTION
 *	apiproblem_table[] maps each kind to its status, type and title:
 *	the one place an error gets its answer (docs/openapi.json lists the
 *	same types).  Bodies are written by jansson; the detail passes
 *	through sanitize_text(), so a client's bytes echoed in it are never
 *	raw control characters.
 *
 * DIAGNOSTICS
 *	apiproblem_body() returns NULL only when memory runs out.
 */
#include "apiproblem.h"

#include <string.h>

#include <jansson.h>

#include "sanitize.h"

#define APIPROBLEM_DETAIL_MAX 1024

static const struct {
	unsigned status;
	const char *type;
	const char *title;
} apiproblem_table[APIPROBLEM_COUNT] = {
    [APIPROBLEM_BAD_JSON] = {400, "urn:authready:problem:invalid-json",
                             "The body is not a valid JSON object"},
    [APIPROBLEM_UNKNOWN_FIELD] = {400, "urn:authready:problem:unknown-field",
                                  "The body has a field this API does not "
                                  "know"},
    [APIPROBLEM_INVALID_FIELD] = {400, "urn:authready:problem:invalid-field",
                                  "A field has an invalid value"},
    [APIPROBLEM_INVALID_DOMAIN] = {400, "urn:authready:problem:invalid-domain",
                                   "The domain is not a valid domain name"},
    [APIPROBLEM_INVALID_QUERY] = {400, "urn:authready:problem:invalid-query",
                                  "A query parameter is invalid"},
    [APIPROBLEM_INVALID_CSV] = {400, "urn:authready:problem:invalid-csv",
                                "The CSV cannot be read"},
    [APIPROBLEM_UNSUPPORTED_MEDIA] = {415,
                                      "urn:authready:problem:unsupported-media",
                                      "The body's Content-Type is not the "
                                      "one this route takes"},
    [APIPROBLEM_UNAUTHORIZED] = {401, "urn:authready:problem:unauthorized",
                                 "A valid bearer token is needed"},
    [APIPROBLEM_FORBIDDEN] = {403, "urn:authready:problem:forbidden",
                              "The token's scope does not allow this"},
    [APIPROBLEM_NOT_FOUND] = {404, "urn:authready:problem:no-such-route",
                              "No such route"},
    [APIPROBLEM_DOMAIN_NOT_FOUND] = {404,
                                     "urn:authready:problem:domain-not-found",
                                     "The domain is not registered"},
    [APIPROBLEM_METHOD] = {405, "urn:authready:problem:method-not-allowed",
                           "The route does not take this method"},
    [APIPROBLEM_EXISTS] = {409, "urn:authready:problem:domain-exists",
                           "The domain is already registered"},
    [APIPROBLEM_HELD] = {409, "urn:authready:problem:mail-held",
                         "Mail is held for the domain"},
    [APIPROBLEM_TIMEOUT] = {408, "urn:authready:problem:request-timeout",
                            "The request took too long to arrive"},
    [APIPROBLEM_TOO_LARGE] = {413, "urn:authready:problem:body-too-large",
                              "The body is too large"},
    [APIPROBLEM_HEADERS_TOO_LARGE] = {431,
                                      "urn:authready:problem:headers-too-large",
                                      "The request's header fields are too "
                                      "large"},
    [APIPROBLEM_THROTTLED] = {429, "urn:authready:problem:too-many-failures",
                              "Too many failed authentications from this "
                              "address"},
    [APIPROBLEM_STORE] = {500, "urn:authready:problem:store-error",
                          "The state store failed"},
    [APIPROBLEM_RELEASE] = {502, "urn:authready:problem:release-failed",
                            "The MTA did not release the held mail"},
    [APIPROBLEM_DB_REFUSED] = {502, "urn:authready:problem:database-refused",
                               "PostgreSQL refused the request"},
    [APIPROBLEM_BUSY] = {503, "urn:authready:problem:too-many-connections",
                         "Too many connections"},
    [APIPROBLEM_DB_DOWN] = {503, "urn:authready:problem:database-unavailable",
                            "PostgreSQL is unavailable; try again later"},
};

unsigned
apiproblem_status(enum apiproblem_kind kind)
{
	if ((unsigned)kind >= APIPROBLEM_COUNT || kind == APIPROBLEM_NONE)
		return 500;
	return apiproblem_table[kind].status;
}

const char *
apiproblem_type(enum apiproblem_kind kind)
{
	if ((unsigned)kind >= APIPROBLEM_COUNT || kind == APIPROBLEM_NONE)
		return "about:blank";
	return apiproblem_table[kind].type;
}

char *
apiproblem_body(enum apiproblem_kind kind, const char *detail,
                const char *instance)
{
	char clean[APIPROBLEM_DETAIL_MAX];
	json_t *o;
	char *out;

	if ((unsigned)kind >= APIPROBLEM_COUNT || kind == APIPROBLEM_NONE)
		kind = APIPROBLEM_STORE;
	if ((o = json_object()) == NULL)
		return NULL;
	json_object_set_new(o, "type",
	                    json_string(apiproblem_table[kind].type));
	json_object_set_new(o, "title",
	                    json_string(apiproblem_table[kind].title));
	json_object_set_new(o, "status",
	                    json_integer(apiproblem_table[kind].status));
	if (detail != NULL) {
		sanitize_text(clean, sizeof(clean),
		              (const unsigned char *)detail, strlen(detail));
		json_object_set_new(o, "detail", json_string(clean));
	}
	if (instance != NULL) {
		sanitize_text(clean, sizeof(clean),
		              (const unsigned char *)instance,
		              strlen(instance));
		json_object_set_new(o, "instance", json_string(clean));
	}
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}
