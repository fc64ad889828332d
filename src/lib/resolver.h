/*
 * resolver.h - the asynchronous lookup interface the checks are written
 * against.  dns.c implements it on c-ares; the unit tests implement it
 * with a table of canned answers.  A query's callback runs exactly once,
 * from the resolver's event loop (never from inside query()), with the
 * final answer: CNAMEs already followed, deadline already applied.  The
 * answer is only valid during the callback.
 *
 * SYNOPSIS
 *	#include "resolver.h"
 *
 * DESCRIPTION
 *	query_by is optional (NULL when the resolver has none): the same with
 *	an absolute deadline, CLOCK_MONOTONIC milliseconds, that ends the
 *	lookup with DNS_TIMEOUT earlier than the resolver's own deadline per
 *	lookup would.  A check's overall budget is passed down this way.
 */
#ifndef AUTHREADY_RESOLVER_H
#define AUTHREADY_RESOLVER_H

#include <stdint.h>

struct dns_answer;

typedef void (*resolver_cb)(void *arg, const struct dns_answer *ans);

struct resolver {
	void *impl;
	/* query - 0 when queued, -1 when it could not be (callback not run) */
	int (*query)(void *impl, const char *name, uint16_t qtype,
	             resolver_cb cb, void *arg);
	/* query_by - query, ended by deadline_ms at the latest */
	int (*query_by)(void *impl, const char *name, uint16_t qtype,
	                uint64_t deadline_ms, resolver_cb cb, void *arg);
};

#endif
