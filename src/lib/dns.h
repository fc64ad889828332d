/*
 * dns.h - the c-ares channel and its event loop.
 *
 * SYNOPSIS
 *	#include "dns.h"
 *
 *	The functions: see dns.c.
 *
 * DESCRIPTION
 *	One struct dns owns one c-ares channel and must only be used by the
 *	thread that created it (c-ares 1.18 has no channel locking).  Many
 *	queries may be in flight; each has a deadline after which its callback
 *	runs with DNS_TIMEOUT.  Answers are parsed by dnsmsg.c; CNAME chains
 *	that end outside the answer are followed with new queries up to
 *	DNS_CNAME_HOPS_MAX.  EDNS0 is on (payload 1232) and truncated answers
 *	are retried over TCP by c-ares.
 */
#ifndef AUTHREADY_DNS_H
#define AUTHREADY_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "resolver.h"

#define DNS_SERVERS_MAX 8
#define DNS_SERVER_TEXT_MAX 64

struct dns_options {
	/* "ADDR", "ADDR:PORT", "[V6]:PORT"; none means /etc/resolv.conf */
	char servers[DNS_SERVERS_MAX][DNS_SERVER_TEXT_MAX];
	size_t nservers;
	unsigned timeout_ms; /* deadline per lookup, CNAME hops included */
};

struct dns;

int dns_open(struct dns **out, const struct dns_options *opts, char *err,
             size_t errlen);
void dns_close(struct dns *d);

/* dns_query - start a lookup; see resolver.h for the callback rules. */
int dns_query(struct dns *d, const char *name, uint16_t qtype, resolver_cb cb,
              void *arg);

/*
 * dns_query_by - dns_query() whose lookup ends with DNS_TIMEOUT at
 * deadline_ms (CLOCK_MONOTONIC milliseconds) when that comes before the
 * channel's timeout_ms; a deadline already passed times out at once
 * (still through the callback).
 */
int dns_query_by(struct dns *d, const char *name, uint16_t qtype,
                 uint64_t deadline_ms, resolver_cb cb, void *arg);

/* dns_resolver - the resolver interface backed by this channel. */
struct resolver dns_resolver(struct dns *d);

struct metrics;

/* dns_metrics_register - the lookup metrics into m: by type and outcome,
 * and their time; 0, or -1 with err. */
int dns_metrics_register(struct metrics *m, char *err, size_t errlen);

/* dns_pending - lookups whose callback has not run yet. */
size_t dns_pending(const struct dns *d);

/* dns_run - run the event loop until no lookup is pending. */
void dns_run(struct dns *d);

/* dns_run_once - wait at most max_wait_ms for activity and process it. */
void dns_run_once(struct dns *d, int max_wait_ms);

/* dns_set_wake_fd - dns_run_once() also returns when fd becomes readable
 * (the caller reads it); -1: none. */
void dns_set_wake_fd(struct dns *d, int fd);

/* dns_server_parse - validate "ADDR[:PORT]"; 0 ok, -1 with err. */
int dns_server_parse(const char *text, char *err, size_t errlen);

#endif
