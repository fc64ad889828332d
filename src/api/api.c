/*
 * api.c - authready-api(8)'s HTTP server: libmicrohttpd and the routes.
 *
 * SYNOPSIS
 *	int api_start(struct api *api, int listen_fd, char *err,
 *	    size_t errlen);
 *	void api_stop(struct api *api);
 *
 * DESCRIPTION
 *	libmicrohttpd runs a pool of API_THREADS epoll threads on the socket.
 *	The first call of the access handler for a request judges everything
 *	known before the body: too many connections (503), the request's
 *	header fields larger than API_HEADER_MAX (431), an address
 *	throttled after failed tokens (429), the route (404, 405, a bad
 *	domain 400), the token (401, 403), the declared length (413).  The
 *	body is then gathered up to its route's limit (413 past it) and
 *	within APIRequestTimeout of the request's start (408 past it); a
 *	client that stalls is closed by libmicrohttpd's connection timeout
 *	(the same APIRequestTimeout).  libmicrohttpd is given API_MHD_MEMORY
 *	per connection, well above API_HEADER_MAX, so the header limit is
 *	ours (a problem document); only a header block that does not fit in
 *	that memory gets libmicrohttpd's own 431 (text/html), before the
 *	API sees the request.  The last call runs the route.
 *
 *	The routes call what authready(1) calls: regops.c to register,
 *	remove, look up and ask for a check, release.c to release held
 *	mail, the store for states and held entries.  POST .../refresh
 *	answers 202 once the domain's next check is moved to now: the
 *	daemon's checker (or checkerd) takes it at its next due round, and
 *	the outcome is read with GET /v1/domains/{domain}.
 *
 *	That route, the one applications poll, keeps its rendered answers
 *	(api_cache, see struct api_cached): one is given again while the
 *	store's last commit and the second are those it was rendered in.
 *	A connection keeps its client's address and the token it last
 *	authenticated with (struct api_conn), so a keep-alive poll converts
 *	no address and digests no token.
 *
 * DIAGNOSTICS
 *	Every error is an application/problem+json body (apiproblem.c).
 *	Each request is logged: event=api-request with the status, the
 *	client, the time taken and the domain.
 */
#include "api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>

#include "apimetrics.h"
#include "apiproblem.h"
#include "apiroute.h"
#include "log.h"
#include "pgconn.h"
#include "regops.h"
#include "release.h"
#include "report.h"
#include "sanitize.h"
#include "state.h"
#include "text.h"

#define API_WHY_MAX 1024
#define API_PATH_LOG_MAX 300
#define API_DUMP_BUF 16384   /* octets of an answer dumped in place */
#define API_CACHE_SLOTS 1024 /* status answers kept (one per slot) */
#define API_DECIMAL_BUF 24   /* a uint64_t in decimal, and its NUL */

/* One request: what the first call judged, and the body so far. */
struct api_req {
	int64_t start_ms;
	struct api_conn *conn; /* NULL: none (out of memory) */
	unsigned char
	    key[APITOKEN_ADDR_MAX];    /* the client, as a throttle key */
	char client[INET6_ADDRSTRLEN]; /* and as text */
	struct apiroute_match route;
	char *body;
	size_t len, cap, max;
	bool answered; /* a response is queued */
	unsigned status;
	int late;         /* a problem found in the body, answered at its end */
	unsigned retry_s; /* Retry-After of a 429 */
	char late_why[256];
};

/*
 * One connection (libmicrohttpd's socket context, used by one thread at a
 * time): its client, known when it opens, so a keep-alive client's
 * requests do not convert its address again; whether it is past
 * APIMaxConnections; and the bearer token it last authenticated with, so
 * that a client presenting the same token again on the connection is not
 * hashed again (api_token_scope): compared in constant time, not trusted
 * after a reload of the tokens (tokens_gen), wiped when the connection
 * closes or presents a token that fails.
 */
struct api_conn {
	bool over; /* its requests get 503 */
	unsigned char key[APITOKEN_ADDR_MAX];
	char client[INET6_ADDRSTRLEN];
	char token[APITOKEN_MAX];
	size_t token_len; /* 0: none */
	unsigned token_gen;
	enum apitoken_scope scope;
};

/*
 * The status answers rendered lately: GET /v1/domains/{domain} is what an
 * application polls.  An answer depends on the store's contents, on the
 * clock to the second (the summary says "pending for 3m") and on the
 * config (fixed while the daemon runs); so one rendered while the
 * store's last commit was C, in second S, is the answer to every request
 * for the same domain while the last commit is still C and it is still
 * S.  The commit is read before rendering: a write that lands meanwhile
 * files the answer under the older commit, which is never current again.
 *
 * A slot keeps the libmicrohttpd response itself (body and headers), not
 * its text: a hit queues it as it is, so a poll costs no allocation, no
 * copy of the body and no header building.  libmicrohttpd counts the
 * references of a response: the slot holds one, each connection sending
 * it another, so a slot given a newer answer drops its reference while a
 * connection may still be sending the older one.  The slot's lock is
 * held while a hit queues it, so it cannot be dropped in between.
 */
struct api_cached {
	pthread_mutex_t lock;
	char domain[DOMAIN_BUF];
	uint64_t commit;
	int64_t second;
	struct MHD_Response *resp; /* NULL: empty slot */
};

static struct api_cached api_cache[API_CACHE_SLOTS];
static pthread_once_t api_cache_once = PTHREAD_ONCE_INIT;

/* The door a held entry came through (storecodec.h), by value. */
static const char *const api_held_doors[] = {
    [HELD_DOOR_UNKNOWN] = "unknown",
    [HELD_DOOR_UNIX] = "unix",
    [HELD_DOOR_INET] = "inet",
};

/* api_time - a unix time as 2026-11-27T00:52:36Z ("never" for 0). */
static json_t *
api_time(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[80];

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		return json_string_nocheck("never");
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec);
	return json_string_nocheck(buf);
}

/* api_str - a JSON string of stored text: printable ASCII as it is (the
 * common case, no copy through sanitize_text), anything else sanitized;
 * so always valid UTF-8, and jansson need not check it again. */
static json_t *
api_str(const char *text)
{
	char clean[4096];
	size_t i, n;

	for (i = 0; text[i] != '\0'; i++)
		if ((unsigned char)text[i] < 0x20 ||
		    (unsigned char)text[i] > 0x7e)
			break;
	if (text[i] == '\0')
		return json_stringn_nocheck(text, i);
	n = sanitize_text(clean, sizeof(clean), (const unsigned char *)text,
	                  strlen(text));
	return json_stringn_nocheck(clean, n);
}

/* api_set - o[key] = v (stolen); keys are our own literals. */
static void
api_set(json_t *o, const char *key, json_t *v)
{
	json_object_set_new_nocheck(o, key, v);
}

/* api_response - a response of body (freed with it; NULL: empty) with
 * the headers of every answer but the problems. */
static struct MHD_Response *
api_response(char *body, const char *type, const char *location,
             const char *allow)
{
	struct MHD_Response *resp;
	size_t len = body ? strlen(body) : 0;

	resp = MHD_create_response_from_buffer(len, body ? body : (char *)"",
	                                       body ? MHD_RESPMEM_MUST_FREE
	                                            : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(body);
		return NULL;
	}
	if (body != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		                        type);
	if (location != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION,
		                        location);
	if (allow != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	return resp;
}

/* api_queue_response - queue resp (the caller keeps its reference). */
static enum MHD_Result
api_queue_response(struct MHD_Connection *c, struct api_req *r, unsigned status,
                   struct MHD_Response *resp)
{
	r->answered = true;
	r->status = status;
	return MHD_queue_response(c, status, resp);
}

/* api_queue - queue body (freed here) with status and content type. */
static enum MHD_Result
api_queue(struct MHD_Connection *c, struct api_req *r, unsigned status,
          char *body, const char *type, const char *location, const char *allow)
{
	struct MHD_Response *resp = api_response(body, type, location, allow);
	enum MHD_Result rc;

	if (resp == NULL)
		return MHD_NO;
	rc = api_queue_response(c, r, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* api_dump - a JSON value (stolen) as a malloc'd string: dumped into a
 * buffer of the thread (json_dumpb: no growing of jansson's own buffer)
 * and copied once; a larger answer (a long list) by json_dumps.  NULL
 * when out of memory. */
static char *
api_dump(json_t *v)
{
	static _Thread_local char buf[API_DUMP_BUF];
	size_t n = json_dumpb(v, buf, sizeof(buf), JSON_COMPACT);
	char *body;

	if (n > 0 && n < sizeof(buf)) {
		if ((body = malloc(n + 1)) != NULL) {
			memcpy(body, buf, n);
			body[n] = '\0';
		}
	} else {
		body = json_dumps(v, JSON_COMPACT);
	}
	json_decref(v);
	return body;
}

/* api_json - queue a JSON value (stolen) with status. */
static enum MHD_Result
api_json(struct MHD_Connection *c, struct api_req *r, unsigned status,
         json_t *v, const char *location)
{
	char *body = api_dump(v);

	if (body == NULL)
		return MHD_NO;
	return api_queue(c, r, status, body, "application/json", location,
	                 NULL);
}

/* api_problem - the one place an error becomes an answer. */
static enum MHD_Result
api_problem(struct MHD_Connection *c, struct api_req *r, int kind,
            const char *detail, const char *url, const char *allow)
{
	char *body = apiproblem_body((enum apiproblem_kind)kind, detail, url);
	enum MHD_Result rc;

	if (body == NULL)
		return MHD_NO;
	if (kind == APIPROBLEM_THROTTLED || kind == APIPROBLEM_BUSY ||
	    kind == APIPROBLEM_DB_DOWN) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(
		    strlen(body), body, MHD_RESPMEM_MUST_FREE);
		char retry[16];

		if (resp == NULL) {
			free(body);
			return MHD_NO;
		}
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		                        "application/problem+json");
		snprintf(retry, sizeof(retry), "%u",
		         kind == APIPROBLEM_THROTTLED && r->retry_s > 0
		             ? r->retry_s
		             : 1);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER,
		                        retry);
		if (kind == APIPROBLEM_BUSY)
			MHD_add_response_header(
			    resp, MHD_HTTP_HEADER_CONNECTION, "close");
		rc = MHD_queue_response(c, apiproblem_status(kind), resp);
		MHD_destroy_response(resp);
		r->answered = true;
		r->status = apiproblem_status(kind);
		return rc;
	}
	return api_queue(c, r, apiproblem_status(kind), body,
	                 "application/problem+json", NULL, allow);
}

/* api_regops_problem - a failed registry operation as a problem. */
static enum MHD_Result
api_regops_problem(struct MHD_Connection *c, struct api_req *r, int rc,
                   const struct regops_result *res, const char *err,
                   const char *url)
{
	char why[API_WHY_MAX];

	switch (rc) {
	case REGOPS_EXISTS:
		snprintf(why, sizeof(why),
		         "%s is already registered; remove it first to change "
		         "it",
		         r->route.domain);
		return api_problem(c, r, APIPROBLEM_EXISTS, why, url, NULL);
	case REGOPS_ABSENT:
		snprintf(why, sizeof(why), "%s is not registered",
		         r->route.domain);
		return api_problem(c, r, APIPROBLEM_DOMAIN_NOT_FOUND, why, url,
		                   NULL);
	case REGOPS_HELD:
		snprintf(why, sizeof(why),
		         "%zu message(s) are held for %s; release or delete "
		         "them before removing the domain",
		         res->held, r->route.domain);
		return api_problem(c, r, APIPROBLEM_HELD, why, url, NULL);
	case REGOPS_PG:
		return api_problem(c, r,
		                   res->pg_status == PGCONN_DOWN
		                       ? APIPROBLEM_DB_DOWN
		                       : APIPROBLEM_DB_REFUSED,
		                   err, url, NULL);
	default:
		log_msg(LOG_ERR, "event=api-store-error error=\"%s\"", err);
		return api_problem(c, r, APIPROBLEM_STORE, err, url, NULL);
	}
}

/* api_env - the registry operations on the daemon's store. */
static struct regops_env
api_env(const struct api *api)
{
	struct regops_env env = {.cfg = api->cfg, .st = api->st};

	return env;
}

/* api_records_json - the zone lines of reg as a JSON array. */
static json_t *
api_records_json(const struct api *api, const struct domain_reg *reg, char *err,
                 size_t errlen)
{
	static _Thread_local struct zonelines_set set;
	json_t *a;
	size_t i;

	if (regops_records(api->cfg, reg, &set, err, errlen) != 0)
		return NULL;
	a = json_array();
	for (i = 0; i < set.count; i++)
		json_array_append_new(
		    a,
		    json_pack("{s:o, s:s, s:o, s:o}", "name",
		              api_str(set.rr[i].name), "type", set.rr[i].type,
		              "value", api_str(set.rr[i].value), "note",
		              api_str(set.rr[i].note)));
	return a;
}

/* api_held_one - one held entry into the array ctx. */
static int
api_held_one(void *ctx, const struct held_msg *msg)
{
	const char *door =
	    msg->door <= HELD_DOOR_INET ? api_held_doors[msg->door] : "unknown";

	json_array_append_new(ctx,
	                      json_pack("{s:o, s:o, s:o, s:s, s:o}", "queue_id",
	                                api_str(msg->queue_id), "held_at",
	                                api_time(msg->held_at), "sender",
	                                api_str(msg->sender), "door", door,
	                                "reason", api_str(msg->reason)));
	return 0;
}

/* api_held_json - the held entries of domain. */
static json_t *
api_held_json(struct store *st, const char *domain)
{
	json_t *a = json_array();
	char err[256];

	store_held_list(st, domain, api_held_one, a, err, sizeof(err));
	return a;
}

/* api_status_json - one domain as `authready status DOMAIN --json`. */
static json_t *
api_status_json(const struct api *api, const char *domain, bool unregistered)
{
	struct domain_state s;
	char summary[1024];
	json_t *o, *recs;
	int64_t now = (int64_t)time(NULL);
	size_t i;

	regops_summary(api->st, domain, now, &s, summary, sizeof(summary));
	o = json_object();
	api_set(o, "domain", api_str(s.domain));
	api_set(o, "state", json_string_nocheck(state_readiness_name(s.state)));
	api_set(o, "since", api_time(s.since));
	api_set(o, "last_check", api_time(s.last_check));
	api_set(o, "last_success", api_time(s.last_success));
	api_set(o, "next_check", api_time(s.next_check));
	api_set(o, "dns_errors", json_integer((json_int_t)s.dns_errors));
	api_set(o, "registered", json_boolean(!unregistered));
	api_set(o, "organizational_domain", api_str(s.org));
	/* The stored DMARC alignment modes: "r", "s", or "" unknown. */
	api_set(o, "dmarc_adkim",
	        api_str(s.adkim == 'r'   ? "r"
	                : s.adkim == 's' ? "s"
	                                 : ""));
	api_set(o, "dmarc_aspf",
	        api_str(s.aspf == 'r'   ? "r"
	                : s.aspf == 's' ? "s"
	                                : ""));
	if (unregistered)
		api_set(o, "last_used", api_time(s.last_used));
	api_set(o, "summary", api_str(summary));
	recs = json_array();
	for (i = 0; i < s.nrecords && i < DOMAIN_RECORDS_MAX; i++) {
		json_t *r = json_object();

		api_set(r, "type",
		        json_string_nocheck(check_type_name(
		            (enum check_type)s.records[i].type)));
		api_set(r, "name", api_str(s.records[i].name));
		api_set(r, "status",
		        json_string_nocheck(check_status_name(
		            (enum check_status)s.records[i].status)));
		api_set(r, "detail", api_str(s.records[i].detail));
		json_array_append_new(recs, r);
	}
	api_set(o, "records", recs);
	api_set(o, "held", api_held_json(api->st, domain));
	return o;
}

/* api_lookup - the entry (or unregistered state) of the route's domain;
 * 0, or a response is queued and the MHD result is in *rc. */
static int
api_lookup(struct api *api, struct MHD_Connection *c, struct api_req *r,
           const char *url, bool allow_unreg, struct domain_reg *reg,
           bool *unregistered, enum MHD_Result *rc)
{
	char err[512], why[API_WHY_MAX];
	int st =
	    regops_lookup(api->st, r->route.domain, reg,
	                  allow_unreg ? unregistered : NULL, err, sizeof(err));

	if (!allow_unreg)
		*unregistered = false;
	if (st == STORE_OK)
		return 0;
	if (st == STORE_NOTFOUND) {
		snprintf(
		    why, sizeof(why), "%s is not registered%s", r->route.domain,
		    allow_unreg ? ", and no mail from it was checked" : "");
		*rc = api_problem(c, r, APIPROBLEM_DOMAIN_NOT_FOUND, why, url,
		                  NULL);
	} else {
		*rc = api_problem(c, r, APIPROBLEM_STORE, err, url, NULL);
	}
	return -1;
}

/* Listing ---------------------------------------------------------------- */

struct api_lister {
	const struct api *api;
	const struct apiroute_list *q;
	json_t *items;
	size_t n;
	bool more;
};

/* api_list_one - one registry entry into the page, or the end of it. */
static int
api_list_one(void *ctx, const struct domain_reg *reg)
{
	struct api_lister *ls = ctx;
	struct domain_state state;
	enum domain_readiness s = READINESS_UNKNOWN;
	char err[256];
	json_t *sels;
	size_t i;

	if (ls->q->after[0] != '\0' && strcmp(reg->domain, ls->q->after) <= 0)
		return 0;
	if (store_state_get(ls->api->st, reg->domain, &state, err,
	                    sizeof(err)) == STORE_OK)
		s = state.state;
	if (ls->q->state >= 0 && (int)s != ls->q->state)
		return 0;
	if (ls->n == ls->q->limit) {
		ls->more = true;
		return 1;
	}
	sels = json_array();
	for (i = 0; i < reg->nselectors && i < DOMAIN_SELECTORS_MAX; i++)
		json_array_append_new(sels, api_str(reg->selectors[i].name));
	json_array_append_new(
	    ls->items,
	    json_pack("{s:o, s:s, s:o, s:o, s:o, s:o}", "domain",
	              api_str(reg->domain), "state", state_readiness_name(s),
	              "mail_from",
	              api_str(reg->mail_from[0] ? reg->mail_from
	                                        : ls->api->cfg->mail_from),
	              "selectors", sels, "contact", api_str(reg->contact),
	              "added", api_time(reg->added)));
	ls->n++;
	return 0;
}

static enum MHD_Result
api_route_list(struct api *api, struct MHD_Connection *c, struct api_req *r,
               const char *url)
{
	struct apiroute_list q;
	struct api_lister ls = {.api = api, .q = &q};
	char why[API_WHY_MAX], err[512];
	size_t ncorrupt = 0;
	json_t *o, *last;
	int rc;

	rc = apiroute_list_query(
	    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state"),
	    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit"),
	    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after"), &q,
	    why, sizeof(why));
	if (rc != 0)
		return api_problem(c, r, rc, why, url, NULL);
	ls.items = json_array();
	if (store_reg_iter(api->st, api_list_one, &ls, &ncorrupt, err,
	                   sizeof(err)) != STORE_OK) {
		json_decref(ls.items);
		return api_problem(c, r, APIPROBLEM_STORE, err, url, NULL);
	}
	o = json_pack("{s:o}", "domains", ls.items);
	last = ls.n > 0 ? json_object_get(json_array_get(ls.items, ls.n - 1),
	                                  "domain")
	                : NULL;
	json_object_set_new(
	    o, "next", ls.more && last != NULL ? json_copy(last) : json_null());
	return api_json(c, r, 200, o, NULL);
}

/* The {domain} routes ---------------------------------------------------- */

/* api_cache_init - the slots' locks. */
static void
api_cache_init(void)
{
	size_t i;

	for (i = 0; i < API_CACHE_SLOTS; i++)
		pthread_mutex_init(&api_cache[i].lock, NULL);
}

/* api_cache_slot - the slot of domain (FNV-1a). */
static struct api_cached *
api_cache_slot(const char *domain)
{
	uint32_t h = 2166136261u;
	const char *p;

	for (p = domain; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return &api_cache[h % API_CACHE_SLOTS];
}

/* api_cache_answer - queue domain's answer for commit and second when the
 * slot has it; false when it does not (nothing queued). */
static bool
api_cache_answer(struct MHD_Connection *c, struct api_req *r,
                 const char *domain, uint64_t commit, int64_t second,
                 enum MHD_Result *rc)
{
	struct api_cached *e = api_cache_slot(domain);
	bool hit;

	pthread_mutex_lock(&e->lock);
	hit = e->resp != NULL && e->commit == commit && e->second == second &&
	      strcmp(e->domain, domain) == 0;
	if (hit)
		*rc = api_queue_response(c, r, 200, e->resp);
	pthread_mutex_unlock(&e->lock);
	return hit;
}

/* api_cache_put - keep resp (the caller's reference, taken over) as
 * domain's answer; the slot's older answer is dropped. */
static void
api_cache_put(const char *domain, uint64_t commit, int64_t second,
              struct MHD_Response *resp)
{
	struct api_cached *e = api_cache_slot(domain);
	struct MHD_Response *old;

	pthread_mutex_lock(&e->lock);
	old = e->resp;
	snprintf(e->domain, sizeof(e->domain), "%s", domain);
	e->commit = commit;
	e->second = second;
	e->resp = resp;
	pthread_mutex_unlock(&e->lock);
	if (old != NULL)
		MHD_destroy_response(old);
}

static enum MHD_Result
api_route_get(struct api *api, struct MHD_Connection *c, struct api_req *r,
              const char *url)
{
	struct domain_reg reg;
	struct MHD_Response *resp;
	uint64_t commit = 0;
	int64_t second = (int64_t)time(NULL);
	bool unreg, cached = store_last_commit(api->st, &commit) == STORE_OK;
	enum MHD_Result rc;
	char *body;

	if (cached &&
	    api_cache_answer(c, r, r->route.domain, commit, second, &rc))
		return rc;
	if (api_lookup(api, c, r, url, true, &reg, &unreg, &rc) != 0)
		return rc;
	body = api_dump(api_status_json(api, reg.domain, unreg));
	if (body == NULL ||
	    (resp = api_response(body, "application/json", NULL, NULL)) == NULL)
		return MHD_NO;
	rc = api_queue_response(c, r, 200, resp);
	if (cached && second == (int64_t)time(NULL))
		api_cache_put(reg.domain, commit, second, resp);
	else
		MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result
api_route_records(struct api *api, struct MHD_Connection *c, struct api_req *r,
                  const char *url)
{
	struct domain_reg reg;
	char err[1024];
	bool unreg;
	enum MHD_Result rc;
	json_t *recs;

	if (api_lookup(api, c, r, url, false, &reg, &unreg, &rc) != 0)
		return rc;
	if ((recs = api_records_json(api, &reg, err, sizeof(err))) == NULL)
		return api_problem(c, r, APIPROBLEM_STORE, err, url, NULL);
	return api_json(c, r, 200,
	                json_pack("{s:o, s:o}", "domain", api_str(reg.domain),
	                          "records", recs),
	                NULL);
}

static enum MHD_Result
api_route_held(struct api *api, struct MHD_Connection *c, struct api_req *r,
               const char *url)
{
	struct domain_reg reg;
	bool unreg;
	enum MHD_Result rc;

	if (api_lookup(api, c, r, url, true, &reg, &unreg, &rc) != 0)
		return rc;
	return api_json(c, r, 200,
	                json_pack("{s:o, s:o}", "domain", api_str(reg.domain),
	                          "held", api_held_json(api->st, reg.domain)),
	                NULL);
}

static enum MHD_Result
api_route_release(struct api *api, struct MHD_Connection *c, struct api_req *r,
                  const char *url)
{
	struct domain_reg reg;
	struct release_result res;
	char err[1024], why[API_WHY_MAX + 1024];
	bool unreg;
	enum MHD_Result rc;

	if (api_lookup(api, c, r, url, true, &reg, &unreg, &rc) != 0)
		return rc;
	memset(&res, 0, sizeof(res));
	if (release_domain_cfg(api->st, reg.domain, api->cfg, &res, err,
	                       sizeof(err)) != 0) {
		snprintf(why, sizeof(why), "%s (%zu released before the error)",
		         err, res.released);
		return api_problem(c, r, APIPROBLEM_RELEASE, why, url, NULL);
	}
	log_msg(LOG_NOTICE, "event=api-release domain=%s released=%zu",
	        reg.domain, res.released);
	return api_json(
	    c, r, 200,
	    json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "domain",
	              api_str(reg.domain), "released", (json_int_t)res.released,
	              "invalid", (json_int_t)res.invalid, "refused",
	              (json_int_t)res.refused, "unverified",
	              (json_int_t)res.unverified, "kept", (json_int_t)res.kept,
	              "first_refused", api_str(res.first_refused), "corrupt",
	              api_str(res.corrupt)),
	    NULL);
}

static enum MHD_Result
api_route_refresh(struct api *api, struct MHD_Connection *c, struct api_req *r,
                  const char *url)
{
	struct regops_env env = api_env(api);
	struct regops_result res;
	char err[REGOPS_ERR_MAX], loc[DOMAIN_BUF + 16];
	int rc;

	rc =
	    regops_request_check(&env, r->route.domain, &res, err, sizeof(err));
	if (rc == REGOPS_ABSENT) {
		snprintf(
		    err, sizeof(err),
		    "%s is not registered, and no mail from it was checked",
		    r->route.domain);
		return api_problem(c, r, APIPROBLEM_DOMAIN_NOT_FOUND, err, url,
		                   NULL);
	}
	if (rc != REGOPS_OK)
		return api_regops_problem(c, r, rc, &res, err, url);
	snprintf(loc, sizeof(loc), "/v1/domains/%s", r->route.domain);
	return api_json(c, r, 202,
	                json_pack("{s:o, s:s, s:o}", "domain",
	                          api_str(r->route.domain), "status", "queued",
	                          "poll", api_str(loc)),
	                loc);
}

static enum MHD_Result
api_route_delete(struct api *api, struct MHD_Connection *c, struct api_req *r,
                 const char *url)
{
	struct regops_env env = api_env(api);
	struct regops_result res;
	char err[REGOPS_ERR_MAX];
	int rc;

	rc = regops_remove(&env, r->route.domain, &res, err, sizeof(err));
	if (rc != REGOPS_OK)
		return api_regops_problem(c, r, rc, &res, err, url);
	log_msg(LOG_NOTICE, "event=api-remove domain=%s", r->route.domain);
	return api_queue(c, r, 204, NULL, NULL, NULL, NULL);
}

/* api_check_keys - every key file of reg holds a usable private key. */
static int
api_check_keys(const struct domain_reg *reg, char *why, size_t whylen)
{
	char last[DOMAIN_KEY_PATH_MAX] = "";

	return regops_check_keys(reg, last, sizeof(last), why, whylen);
}

static enum MHD_Result
api_route_add(struct api *api, struct MHD_Connection *c, struct api_req *r,
              const char *url)
{
	struct regimport_defaults defs = {.mail_from = api->cfg->mail_from,
	                                  .selector = api->cfg->selector};
	struct regops_env env = api_env(api);
	struct regops_result res;
	struct domain_reg reg;
	char why[REGOPS_ERR_MAX], loc[DOMAIN_BUF + 16];
	json_t *recs;
	int rc;

	rc = apiroute_reg_json(r->body ? r->body : "", r->len,
	                       (int64_t)time(NULL), &defs, &reg, why,
	                       sizeof(why));
	if (rc != 0)
		return api_problem(c, r, rc, why, url, NULL);
	if (api_check_keys(&reg, why, sizeof(why)) != 0)
		return api_problem(c, r, APIPROBLEM_INVALID_FIELD, why, url,
		                   NULL);
	snprintf(r->route.domain, sizeof(r->route.domain), "%s", reg.domain);
	rc = regops_add(&env, &reg, &res, why, sizeof(why));
	if (rc != REGOPS_OK)
		return api_regops_problem(c, r, rc, &res, why, url);
	log_msg(LOG_NOTICE, "event=api-add domain=%s", reg.domain);
	if ((recs = api_records_json(api, &reg, why, sizeof(why))) == NULL)
		recs = json_array();
	snprintf(loc, sizeof(loc), "/v1/domains/%s", reg.domain);
	return api_json(c, r, 201,
	                json_pack("{s:o, s:o}", "domain", api_str(reg.domain),
	                          "records", recs),
	                loc);
}

/* api_import_say - one import message into the errors array. */
static void
api_import_say(void *ctx, const char *msg)
{
	json_array_append_new(ctx, api_str(msg));
}

static enum MHD_Result
api_route_import(struct api *api, struct MHD_Connection *c, struct api_req *r,
                 const char *url)
{
	struct regops_env env = api_env(api);
	struct regops_import_stats stats;
	struct regops_result res;
	char err[REGOPS_ERR_MAX];
	json_t *errors = json_array();
	int rc;

	rc = regops_import(&env, r->body ? r->body : "", r->len, api_import_say,
	                   errors, &stats, &res, err, sizeof(err));
	if (rc == REGOPS_OK && !stats.header) {
		json_decref(errors);
		return api_problem(c, r, APIPROBLEM_INVALID_CSV,
		                   "no header line", url, NULL);
	}
	if (rc == REGOPS_INVALID) {
		json_t *first = json_array_get(errors, 0);

		snprintf(err, sizeof(err), "%s",
		         first ? json_string_value(first) : "unreadable CSV");
		json_decref(errors);
		return api_problem(c, r, APIPROBLEM_INVALID_CSV, err, url,
		                   NULL);
	}
	if (rc != REGOPS_OK && !stats.started) {
		json_decref(errors);
		return api_regops_problem(c, r, rc, &res, err, url);
	}
	log_msg(LOG_NOTICE, "event=api-import registered=%zu bad=%zu",
	        stats.committed, stats.bad);
	return api_json(c, r, rc == REGOPS_OK ? 200 : 500,
	                json_pack("{s:I, s:I, s:b, s:o}", "registered",
	                          (json_int_t)stats.committed, "bad_lines",
	                          (json_int_t)stats.bad, "complete",
	                          rc == REGOPS_OK, "errors", errors),
	                NULL);
}

/* The request ------------------------------------------------------------ */

/* api_client_key - the client's address as a throttle key. */
static void
api_client_key(struct MHD_Connection *c, unsigned char key[APITOKEN_ADDR_MAX],
               char *text, size_t textlen)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	memset(key, 0, APITOKEN_ADDR_MAX);
	snprintf(text, textlen, "unknown");
	if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		key[10] = key[11] = 0xff;
		memcpy(key + 12, &s4->sin_addr, 4);
		inet_ntop(AF_INET, &s4->sin_addr, text, (socklen_t)textlen);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		memcpy(key, &s6->sin6_addr, 16);
		inet_ntop(AF_INET6, &s6->sin6_addr, text, (socklen_t)textlen);
	}
}

/* api_token_scope - the scope of the presented token: the connection's
 * last scope when tok is the same octets as its last token (CRYPTO_memcmp)
 * and no reload came since, else apitoken_check's. */
static enum apitoken_scope
api_token_scope(struct api *api, struct api_conn *conn, const char *tok,
                size_t len)
{
	enum apitoken_scope scope;
	unsigned gen = atomic_load(&api->tokens_gen);

	if (conn != NULL && conn->token_len == len && conn->token_gen == gen &&
	    CRYPTO_memcmp(conn->token, tok, len) == 0)
		return conn->scope;
	pthread_rwlock_rdlock(&api->tokens_lock);
	gen = atomic_load(&api->tokens_gen); /* the set's own, under the lock */
	scope = apitoken_check(&api->tokens, tok, len);
	pthread_rwlock_unlock(&api->tokens_lock);
	if (conn == NULL)
		return scope;
	explicit_bzero(conn->token, sizeof(conn->token));
	conn->token_len = 0;
	if (scope != APITOKEN_NONE && len <= sizeof(conn->token)) {
		memcpy(conn->token, tok, len);
		conn->token_len = len;
		conn->token_gen = gen;
		conn->scope = scope;
	}
	return scope;
}

/* api_auth - the token against the route; 0, or a problem kind. */
static int
api_auth(struct api *api, struct MHD_Connection *c, struct api_req *r,
         char *why, size_t whylen)
{
	const char *hdr, *tok;
	enum apitoken_scope scope = APITOKEN_NONE;
	int64_t wait, now = text_now_ms();
	size_t len = 0;

	pthread_mutex_lock(&api->throttle_lock);
	wait = apitoken_wait_ms(api->throttle, r->key, now);
	pthread_mutex_unlock(&api->throttle_lock);
	if (wait > 0) {
		r->retry_s = (unsigned)((wait + 999) / 1000);
		snprintf(why, whylen,
		         "too many failed tokens from %s; try again in %lld ms",
		         r->client, (long long)wait);
		return APIPROBLEM_THROTTLED;
	}
	hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	                                  MHD_HTTP_HEADER_AUTHORIZATION);
	if ((tok = apitoken_bearer(hdr, &len)) != NULL)
		scope = api_token_scope(api, r->conn, tok, len);
	pthread_mutex_lock(&api->throttle_lock);
	if (scope == APITOKEN_NONE)
		apitoken_failed(api->throttle, r->key, now);
	else
		apitoken_succeeded(api->throttle, r->key);
	pthread_mutex_unlock(&api->throttle_lock);
	if (scope == APITOKEN_NONE) {
		log_msg(LOG_WARNING, "event=api-auth-failed client=%s",
		        r->client);
		snprintf(why, whylen, "%s",
		         tok == NULL ? "no bearer token (Authorization: Bearer "
		                       "TOKEN)"
		                     : "the token is not valid");
		return APIPROBLEM_UNAUTHORIZED;
	}
	if (r->route.write && scope != APITOKEN_WRITE) {
		snprintf(why, whylen, "a read token cannot change anything");
		return APIPROBLEM_FORBIDDEN;
	}
	return 0;
}

/* api_header_octets - MHD_KeyValueIterator: add one header field's
 * octets as it came ("Name: value" and CRLF) to the sum in cls. */
static enum MHD_Result
api_header_octets(void *cls, enum MHD_ValueKind kind, const char *key,
                  size_t key_size, const char *value, size_t value_size)
{
	size_t *sum = cls;

	(void)kind, (void)key, (void)value;
	*sum += key_size + 2 + value_size + 2;
	return MHD_YES;
}

/* api_first - the first call of a request: judge all but the body. */
static enum MHD_Result
api_first(struct api *api, struct MHD_Connection *c, struct api_req *r,
          const char *url, const char *method, bool busy)
{
	char why[API_WHY_MAX], route_why[API_WHY_MAX], *end;
	const char *cl, *type;
	unsigned long long declared;
	int rc, auth_rc;
	size_t header_octets = 0;

	if (busy)
		return api_problem(c, r, APIPROBLEM_BUSY,
		                   "too many connections; try again", url,
		                   NULL);
	MHD_get_connection_values_n(c, MHD_HEADER_KIND, api_header_octets,
	                            &header_octets);
	if (header_octets > API_HEADER_MAX) {
		snprintf(why, sizeof(why),
		         "the header fields are %zu octets; at most %d",
		         header_octets, API_HEADER_MAX);
		return api_problem(c, r, APIPROBLEM_HEADERS_TOO_LARGE, why, url,
		                   NULL);
	}
	rc = apiroute_match(method, url, strlen(url), &r->route, route_why,
	                    sizeof(route_why));
	if (rc == APIPROBLEM_NOT_FOUND || rc == APIPROBLEM_METHOD) {
		/* Unknown routes are told only to a client with a token. */
		int auth = api_auth(api, c, r, why, sizeof(why));

		if (auth != 0 && auth != APIPROBLEM_FORBIDDEN)
			return api_problem(c, r, auth, why, url, NULL);
		return api_problem(c, r, rc, route_why, url, r->route.allow);
	}
	if ((auth_rc = api_auth(api, c, r, why, sizeof(why))) != 0)
		return api_problem(c, r, auth_rc, why, url, NULL);
	if (rc != 0)
		return api_problem(c, r, rc, route_why, url, NULL);
	r->max = r->route.id == APIROUTE_IMPORT ? API_IMPORT_MAX
	         : r->route.id == APIROUTE_ADD  ? API_BODY_MAX
	                                        : 0;
	type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	                                   MHD_HTTP_HEADER_CONTENT_TYPE);
	if (r->route.id == APIROUTE_ADD &&
	    (type == NULL || strncasecmp(type, "application/json", 16) != 0))
		return api_problem(c, r, APIPROBLEM_UNSUPPORTED_MEDIA,
		                   "POST /v1/domains takes application/json",
		                   url, NULL);
	if (r->route.id == APIROUTE_IMPORT &&
	    (type == NULL || strncasecmp(type, "text/csv", 8) != 0))
		return api_problem(c, r, APIPROBLEM_UNSUPPORTED_MEDIA,
		                   "POST /v1/domains:import takes text/csv",
		                   url, NULL);
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL) {
		declared = strtoull(cl, &end, 10);
		if (declared > r->max) {
			snprintf(why, sizeof(why),
			         "the body is %llu octets; this route takes at "
			         "most %zu",
			         declared, r->max);
			return api_problem(c, r, APIPROBLEM_TOO_LARGE, why, url,
			                   NULL);
		}
	}
	return MHD_YES;
}

/* api_body - a piece of the body.  libmicrohttpd takes a response only
 * before the body or after it, so a body that is too large or too slow
 * is read to its end and dropped, and the problem is answered then (a
 * client that stops sending is closed by the connection timeout). */
static enum MHD_Result
api_body(struct api *api, struct api_req *r, const char *data, size_t *size)
{
	size_t n = *size;

	*size = 0;
	if (r->late != APIPROBLEM_NONE)
		return MHD_YES; /* the rest is dropped */
	if (text_now_ms() - r->start_ms >
	    (int64_t)api->cfg->api_request_timeout_ms) {
		snprintf(r->late_why, sizeof(r->late_why),
		         "the request did not arrive within %u ms",
		         api->cfg->api_request_timeout_ms);
		r->late = APIPROBLEM_TIMEOUT;
		return MHD_YES;
	}
	if (n > r->max - r->len) {
		snprintf(r->late_why, sizeof(r->late_why),
		         "the body is longer than the %zu octets this route "
		         "takes",
		         r->max);
		r->late = APIPROBLEM_TOO_LARGE;
		return MHD_YES;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *grown;

		while (cap < r->len + n + 1)
			cap *= 2;
		if ((grown = realloc(r->body, cap)) == NULL)
			return MHD_NO;
		r->body = grown;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return MHD_YES;
}

/* api_dispatch - the route's handler, table driven. */
static enum MHD_Result
api_dispatch(struct api *api, struct MHD_Connection *c, struct api_req *r,
             const char *url)
{
	static enum MHD_Result (*const handlers[])(
	    struct api *, struct MHD_Connection *, struct api_req *,
	    const char *) = {
	    [APIROUTE_LIST] = api_route_list,
	    [APIROUTE_ADD] = api_route_add,
	    [APIROUTE_IMPORT] = api_route_import,
	    [APIROUTE_GET] = api_route_get,
	    [APIROUTE_DELETE] = api_route_delete,
	    [APIROUTE_RECORDS] = api_route_records,
	    [APIROUTE_REFRESH] = api_route_refresh,
	    [APIROUTE_HELD] = api_route_held,
	    [APIROUTE_RELEASE] = api_route_release,
	};

	if ((size_t)r->route.id >= sizeof(handlers) / sizeof(*handlers) ||
	    handlers[r->route.id] == NULL)
		return api_problem(c, r, APIPROBLEM_NOT_FOUND, "no such route",
		                   url, NULL);
	return handlers[r->route.id](api, c, r, url);
}

/* api_access - libmicrohttpd's handler: first call, body, last call. */
static enum MHD_Result
api_access(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *data,
           size_t *size, void **con_cls)
{
	struct api *api = cls;
	struct api_req *r = *con_cls;
	const union MHD_ConnectionInfo *ci;
	struct api_conn *conn;

	(void)version;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;
		r->start_ms = text_now_ms();
		*con_cls = r;
		ci = MHD_get_connection_info(
		    c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		r->conn = conn = ci ? ci->socket_context : NULL;
		if (conn != NULL) {
			memcpy(r->key, conn->key, sizeof(r->key));
			memcpy(r->client, conn->client, sizeof(r->client));
		} else {
			api_client_key(c, r->key, r->client, sizeof(r->client));
		}
		/* No context: memory ran out when the connection opened. */
		return api_first(api, c, r, url, method,
		                 conn == NULL || conn->over);
	}
	if (*size > 0)
		return api_body(api, r, data, size);
	if (r->answered)
		return MHD_YES;
	if (r->late != APIPROBLEM_NONE)
		return api_problem(c, r, r->late, r->late_why, url, NULL);
	return api_dispatch(api, c, r, url);
}

/* api_decimal - n in decimal, in buf. */
static const char *
api_decimal(char buf[API_DECIMAL_BUF], uint64_t n)
{
	char *p = buf + API_DECIMAL_BUF - 1;

	*p = '\0';
	do
		*--p = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	return p;
}

/* api_completed - the request is over: log it, free it. */
static void
api_completed(void *cls, struct MHD_Connection *c, void **con_cls,
              enum MHD_RequestTerminationCode toe)
{
	struct api_req *r = *con_cls;
	struct log_line line;
	char status[API_DECIMAL_BUF], ms[API_DECIMAL_BUF];
	int64_t took;

	(void)cls, (void)c;
	if (r == NULL)
		return;
	/* Field by field: no printf and no second sanitizing of the line
	 * each request (the values are our own: numbers, the address as
	 * inet_ntop wrote it, the normalized domain). */
	took = text_now_ms() - r->start_ms;
	apimetrics_request(r->route.id, r->status,
	                   took > 0 ? (uint64_t)took * 1000 : 0);
	log_line_init(&line);
	log_field_text(&line, "event", "api-request");
	log_field_text(&line, "status", api_decimal(status, r->status));
	log_field_text(&line, "client", r->client);
	log_field_text(&line, "ms",
	               api_decimal(ms, took > 0 ? (uint64_t)took : 0));
	if (r->route.domain[0] != '\0')
		log_field_text(&line, "domain", r->route.domain);
	log_emit(LOG_INFO, &line);
	(void)toe;
	free(r->body);
	free(r);
	*con_cls = NULL;
}

/* api_connection - count connections and note each one's client; one
 * past the limit is marked, and its requests get 503 (as do those of a
 * connection whose context could not be allocated). */
static void
api_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
               enum MHD_ConnectionNotificationCode code)
{
	struct api *api = cls;
	struct api_conn *conn;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		unsigned n = atomic_fetch_add(&api->conns, 1) + 1;

		if ((conn = malloc(sizeof(*conn))) != NULL) {
			conn->over = n > api->cfg->api_max_connections;
			conn->token_len = 0;
			api_client_key(c, conn->key, conn->client,
			               sizeof(conn->client));
		}
		*socket_ctx = conn;
	} else {
		if ((conn = *socket_ctx) != NULL)
			explicit_bzero(conn->token, sizeof(conn->token));
		free(conn);
		*socket_ctx = NULL;
		atomic_fetch_sub(&api->conns, 1);
	}
}

int
api_start(struct api *api, int listen_fd, char *err, size_t errlen)
{
	unsigned flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	unsigned timeout_s = (api->cfg->api_request_timeout_ms + 999) / 1000;
	struct MHD_OptionItem tls[3];
	size_t ntls = 0;

	if (api->tls_cert != NULL) {
		flags |= MHD_USE_TLS;
		tls[ntls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT,
		                                      0, api->tls_cert};
		tls[ntls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY,
		                                      0, api->tls_key};
	}
	tls[ntls] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	pthread_once(&api_cache_once, api_cache_init);
	api->mhd = MHD_start_daemon(
	    flags, 0, NULL, NULL, api_access, api, MHD_OPTION_LISTEN_SOCKET,
	    listen_fd, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)API_THREADS,
	    MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)(api->cfg->api_max_connections + API_CONN_SLACK),
	    MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_MHD_MEMORY,
	    MHD_OPTION_NOTIFY_COMPLETED, api_completed, api,
	    MHD_OPTION_NOTIFY_CONNECTION, api_connection, api, MHD_OPTION_ARRAY,
	    tls, MHD_OPTION_END);
	if (api->mhd == NULL) {
		snprintf(err, errlen,
		         "libmicrohttpd did not start on APIListen %s%s",
		         api->cfg->api_listen,
		         api->tls_cert ? " (check the TLS certificate and key)"
		                       : "");
		return -1;
	}
	return 0;
}

void
api_stop(struct api *api)
{
	size_t i;

	if (api->mhd != NULL)
		MHD_stop_daemon(api->mhd);
	api->mhd = NULL;
	for (i = 0; i < API_CACHE_SLOTS; i++) {
		if (api_cache[i].resp != NULL)
			MHD_destroy_response(api_cache[i].resp);
		api_cache[i].resp = NULL;
	}
}
