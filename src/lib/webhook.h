/*
 * webhook.h - state-change webhook events: the JSON, the signature, the
 * retry schedule.
 *
 * SYNOPSIS
 *	#include "webhook.h"
 *
 *	enum webhook_type webhook_type_of(int from, int to);
 *	const char *webhook_type_name(enum webhook_type type);
 *	char *webhook_event_json(const struct webhook_event *ev,
 *	    size_t *len, char *err, size_t errlen);
 *	struct json_t *webhook_problems(const struct domain_state *st);
 *	int webhook_sign(const unsigned char *key, size_t keylen,
 *	    int64_t t, const char *body, size_t len, char *out,
 *	    size_t outlen);
 *	enum webhook_outcome webhook_outcome_of(bool transport_ok,
 *	    long status);
 *	uint64_t webhook_backoff_ms(unsigned attempt, uint32_t rnd);
 *
 * DESCRIPTION
 *	Pure functions, no I/O and no clock: the caller passes the id, the
 *	time and the random numbers.
 *
 *	An event is one JSON object (jansson, compact):
 *	    {"id": "32 hex digits", "type": "degraded",
 *	     "domain": "example.com", "previous_state": "verified",
 *	     "state": "degraded", "time": "2026-12-05T19:00:00Z",
 *	     "summary": "one sentence", "problems": [{"type": "dkim",
 *	     "name": "...", "status": "fail", "detail": "..."}]}
 *	problems are the records that are not right, each in the form of
 *	"authready status --json"'s records; summary is its summary.  A
 *	removed domain has "state": "removed".  held adds "queue_id" and
 *	"reason"; released adds "released" (how many messages).
 *
 *	webhook_type_of() is the table of state changes that are events:
 *	into verified from unknown or pending (verified), from degraded or
 *	failed (recovered); into degraded; into failed.  Entering pending
 *	(the first check of a new domain) is not an event.
 *
 *	Signature (the Authready-Signature header): "t=T,v1=HEX", T the
 *	unix time of the attempt in seconds, HEX the lowercase hex
 *	HMAC-SHA256, keyed with the secret, of the octets "T" "." BODY.  A
 *	receiver recomputes it over the raw body, compares in constant
 *	time, and refuses a T too far from its own clock (a replay).
 *
 *	Retries: webhook_outcome_of() sorts an attempt: 2xx delivered;
 *	no answer (timeout, connection refused...), 408, 429, 5xx and any
 *	other status but 4xx retried; other 4xx given up.  Retry n (from 0)
 *	waits webhook_backoff_ms(n, rnd): WEBHOOK_BACKOFF_FIRST_MS doubled n
 *	times, at most WEBHOOK_BACKOFF_MAX_MS, of which a random half is
 *	taken off ("equal jitter": from d/2 to d).
 *
 * DIAGNOSTICS
 *	webhook_event_json() returns NULL with a sentence in err (a bad
 *	type, out of memory).  webhook_sign() returns -1 when out is too
 *	small or the HMAC fails.
 */
#ifndef AUTHREADY_WEBHOOK_H
#define AUTHREADY_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain.h"

#define WEBHOOK_ID_LEN 32              /* hex digits of an event id */
#define WEBHOOK_SIGNATURE_MAX 96       /* "t=...,v1=" and 64 hex */
#define WEBHOOK_BACKOFF_FIRST_MS 1000  /* the first retry's delay */
#define WEBHOOK_BACKOFF_MAX_MS 3600000 /* an hour between tries at most */
#define WEBHOOK_HEADER "Authready-Signature"
#define WEBHOOK_REASON_MAX 256

enum webhook_type {
	WEBHOOK_NONE = 0, /* not an event */
	WEBHOOK_VERIFIED,
	WEBHOOK_DEGRADED,
	WEBHOOK_FAILED,
	WEBHOOK_RECOVERED,
	WEBHOOK_REMOVED,
	WEBHOOK_HELD,
	WEBHOOK_RELEASED,
};

enum webhook_outcome {
	WEBHOOK_DELIVERED,
	WEBHOOK_RETRY,
	WEBHOOK_GIVE_UP,
};

struct webhook_event {
	const char *id; /* WEBHOOK_ID_LEN hex digits */
	enum webhook_type type;
	const char *domain;
	int previous;                  /* enum domain_readiness */
	int state;                     /* enum domain_readiness */
	int64_t time;                  /* unix seconds */
	const struct domain_state *st; /* the problems; NULL: none */
	const char *summary;           /* NULL: none */
	const char *queue_id;          /* held */
	const char *reason;            /* held */
	size_t released;               /* released */
};

/* webhook_type_of - the event a change from one readiness to another
 * is, or WEBHOOK_NONE. */
enum webhook_type webhook_type_of(int from, int to);

/* webhook_type_name - "verified" ...; NULL for WEBHOOK_NONE or out of
 * range. */
const char *webhook_type_name(enum webhook_type type);

/* webhook_event_json - the event's body, malloc'd and NUL-terminated
 * (free() it); its length in *len. */
char *webhook_event_json(const struct webhook_event *ev, size_t *len, char *err,
                         size_t errlen);

/* webhook_problems - the records of st that are not right, as
 * "authready status --json" shows records (a new reference; NULL when
 * out of memory). */
struct json_t; /* jansson's; not included here: json.h has a json_string */
struct json_t *webhook_problems(const struct domain_state *st);

/* webhook_sign - "t=T,v1=HEX" into out; 0 ok, -1. */
int webhook_sign(const unsigned char *key, size_t keylen, int64_t t,
                 const char *body, size_t len, char *out, size_t outlen);

/* webhook_outcome_of - an attempt's outcome: transport_ok false is no
 * HTTP answer at all. */
enum webhook_outcome webhook_outcome_of(bool transport_ok, long status);

/* webhook_backoff_ms - the wait before retry number attempt (0 first). */
uint64_t webhook_backoff_ms(unsigned attempt, uint32_t rnd);

#endif
