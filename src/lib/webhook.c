/*
 * webhook.c - state-change webhook events: the JSON, the signature, the
 *	retry schedule; see webhook.h.
 *
 * SYNOPSIS
 *	#include "webhook.h"
 *
 *	enum webhook_type webhook_type_of(int from, int to);
 *	const char *webhook_type_name(enum webhook_type type);
 *	char *webhook_event_json(const struct webhook_event *ev,
 *	    size_t *len, char *err, size_t errlen);
 *	json_t *webhook_problems(const struct domain_state *st);
 *	int webhook_sign(const unsigned char *key, size_t keylen,
 *	    int64_t t, const char *body, size_t len, char *out,
 *	    size_t outlen);
 *	enum webhook_outcome webhook_outcome_of(bool transport_ok,
 *	    long status);
 *	uint64_t webhook_backoff_ms(unsigned attempt, uint32_t rnd);
 *
 * DESCRIPTION
 *	Pure: the JSON is built with jansson, the HMAC with OpenSSL; no
 *	clock, no randomness of its own, no I/O.
 */
#include "webhook.h"

#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "errbuf.h"
#include "report.h"
#include "state.h"

#define WEBHOOK_NSTATES (READINESS_FAILED + 1)

static const char *const webhook_type_names[] = {
    [WEBHOOK_VERIFIED] = "verified", [WEBHOOK_DEGRADED] = "degraded",
    [WEBHOOK_FAILED] = "failed",     [WEBHOOK_RECOVERED] = "recovered",
    [WEBHOOK_REMOVED] = "removed",   [WEBHOOK_HELD] = "held",
    [WEBHOOK_RELEASED] = "released",
};

/*
 * Which changes of readiness are events, [from][to].  One row per state,
 * as the table it is (clang-format would scatter it).
 */
/* clang-format off */
#define V WEBHOOK_VERIFIED
#define D WEBHOOK_DEGRADED
#define F WEBHOOK_FAILED
#define R WEBHOOK_RECOVERED
#define N WEBHOOK_NONE
static const enum webhook_type webhook_changes[WEBHOOK_NSTATES]
                                              [WEBHOOK_NSTATES] = {
	/* unknown pending verified degraded failed    (to) */
	{  N,      N,      V,       D,       F },	/* unknown */
	{  N,      N,      V,       D,       F },	/* pending */
	{  N,      N,      N,       D,       F },	/* verified */
	{  N,      N,      R,       N,       F },	/* degraded */
	{  N,      N,      R,       D,       N },	/* failed */
};
#undef V
#undef D
#undef F
#undef R
#undef N
/* clang-format on */

enum webhook_type
webhook_type_of(int from, int to)
{
	if (from < 0 || from >= WEBHOOK_NSTATES || to < 0 ||
	    to >= WEBHOOK_NSTATES)
		return WEBHOOK_NONE;
	return webhook_changes[from][to];
}

const char *
webhook_type_name(enum webhook_type type)
{
	if (type <= WEBHOOK_NONE ||
	    (size_t)type >= sizeof(webhook_type_names) / sizeof(char *))
		return NULL;
	return webhook_type_names[type];
}

/* webhook_time - RFC 3339 UTC of unix seconds t. */
static const char *
webhook_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
	return buf;
}

/* webhook_record - one record as "authready status --json" has it. */
static json_t *
webhook_record(const struct domain_record_status *r)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "type",
	                 check_type_name((enum check_type)r->type), "name",
	                 r->name, "status",
	                 check_status_name((enum check_status)r->status),
	                 "detail", r->detail);
}

json_t *
webhook_problems(const struct domain_state *st)
{
	json_t *arr = json_array();

	if (arr == NULL || st == NULL)
		return arr;
	for (uint32_t i = 0; i < st->nrecords && i < DOMAIN_RECORDS_MAX; i++) {
		if (st->records[i].status == CHECK_PASS)
			continue;
		if (json_array_append_new(
		        arr, webhook_record(&st->records[i])) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* webhook_new_state - the new state by name; "removed" after a removal. */
static const char *
webhook_new_state(const struct webhook_event *ev)
{
	if (ev->type == WEBHOOK_REMOVED)
		return "removed";
	return state_readiness_name((enum domain_readiness)ev->state);
}

/* webhook_text - a JSON string of s ("" for NULL). */
static json_t *
webhook_text(const char *s)
{
	return s != NULL ? json_stringn(s, strlen(s)) : json_stringn("", 0);
}

/* webhook_extras - the fields of held and released. */
static int
webhook_extras(json_t *o, const struct webhook_event *ev)
{
	if (ev->type == WEBHOOK_HELD)
		return json_object_set_new(o, "queue_id",
		                           webhook_text(ev->queue_id)) |
		       json_object_set_new(o, "reason",
		                           webhook_text(ev->reason));
	if (ev->type == WEBHOOK_RELEASED)
		return json_object_set_new(
		    o, "released", json_integer((json_int_t)ev->released));
	return 0;
}

char *
webhook_event_json(const struct webhook_event *ev, size_t *len, char *err,
                   size_t errlen)
{
	const char *type = webhook_type_name(ev->type);
	char when[32];
	json_t *o, *problems;
	char *body;

	*len = 0;
	if (type == NULL)
		return errbuf_fail(err, errlen, "not an event type"), NULL;
	if (ev->id == NULL || strlen(ev->id) != WEBHOOK_ID_LEN ||
	    ev->domain == NULL)
		return errbuf_fail(err, errlen,
		                   "an event needs an id and a "
		                   "domain"),
		       NULL;
	problems = webhook_problems(ev->st);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o*}", "id", ev->id,
	              "type", type, "domain", ev->domain, "previous_state",
	              state_readiness_name((enum domain_readiness)ev->previous),
	              "state", webhook_new_state(ev), "time",
	              webhook_time(ev->time, when, sizeof(when)), "summary",
	              ev->summary ? ev->summary : "", "problems", problems);
	if (o == NULL || webhook_extras(o, ev) != 0) {
		json_decref(o);
		return errbuf_fail(err, errlen, "out of memory"), NULL;
	}
	body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (body == NULL)
		return errbuf_fail(err, errlen, "out of memory"), NULL;
	*len = strlen(body);
	return body;
}

/* webhook_hmac - HMAC-SHA256 of stamp then body into mac (32 octets). */
static int
webhook_hmac(const unsigned char *key, size_t keylen, const char *stamp,
             size_t stamplen, const char *body, size_t len, unsigned char *mac,
             size_t *maclen)
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	    OSSL_PARAM_construct_end(),
	};
	EVP_MAC *alg;
	EVP_MAC_CTX *ctx = NULL;
	int ok;

	if ((alg = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return -1;
	ok = (ctx = EVP_MAC_CTX_new(alg)) != NULL &&
	     EVP_MAC_init(ctx, key, keylen, params) == 1 &&
	     EVP_MAC_update(ctx, (const unsigned char *)stamp, stamplen) == 1 &&
	     EVP_MAC_update(ctx, (const unsigned char *)body, len) == 1 &&
	     EVP_MAC_final(ctx, mac, maclen, EVP_MAX_MD_SIZE) == 1;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(alg);
	return ok ? 0 : -1;
}

int
webhook_sign(const unsigned char *key, size_t keylen, int64_t t,
             const char *body, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t maclen = 0, used;
	char stamp[24];
	int n;

	n = snprintf(stamp, sizeof(stamp), "%" PRId64 ".", t);
	if (n < 0 || (size_t)n >= sizeof(stamp) ||
	    webhook_hmac(key, keylen, stamp, (size_t)n, body, len, mac,
	                 &maclen) != 0)
		return -1;
	n = snprintf(out, outlen, "t=%" PRId64 ",v1=", t);
	if (n < 0 || (size_t)n + 2 * maclen + 1 > outlen)
		return -1;
	used = (size_t)n;
	for (size_t i = 0; i < maclen; i++) {
		out[used++] = hex[mac[i] >> 4];
		out[used++] = hex[mac[i] & 0xf];
	}
	out[used] = '\0';
	return 0;
}

enum webhook_outcome
webhook_outcome_of(bool transport_ok, long status)
{
	if (!transport_ok)
		return WEBHOOK_RETRY;
	if (status >= 200 && status <= 299)
		return WEBHOOK_DELIVERED;
	if (status >= 400 && status <= 499 && status != 408 && status != 429)
		return WEBHOOK_GIVE_UP;
	return WEBHOOK_RETRY;
}

uint64_t
webhook_backoff_ms(unsigned attempt, uint32_t rnd)
{
	uint64_t d = WEBHOOK_BACKOFF_FIRST_MS;

	for (unsigned i = 0; i < attempt && d < WEBHOOK_BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > WEBHOOK_BACKOFF_MAX_MS)
		d = WEBHOOK_BACKOFF_MAX_MS;
	return d - (uint64_t)rnd % (d / 2 + 1);
}
