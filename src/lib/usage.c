/*
 * usage.c - which sender domains mail used, noted without locks; see
 * usage.h.
 *
 * SYNOPSIS
 *	struct usage *usage_new(void);
 *	void usage_free(u);
 *	uint64_t usage_hash(domain);
 *	void usage_note(u, domain);
 *	size_t usage_drain(u, out, max, dropped);
 *	bool usage_seen(sorted, n, domain);
 */
#include "usage.h"

#include <stdatomic.h>
#include <stdlib.h>

#define USAGE_MASK (USAGE_SLOTS - 1)
_Static_assert((USAGE_SLOTS & USAGE_MASK) == 0,
               "USAGE_SLOTS is a power of two");

struct usage {
	_Atomic uint64_t slot[USAGE_SLOTS];
	_Atomic uint64_t dropped;
};

struct usage *
usage_new(void)
{
	struct usage *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return NULL;
	for (size_t i = 0; i < USAGE_SLOTS; i++)
		atomic_init(&u->slot[i], 0);
	atomic_init(&u->dropped, 0);
	return u;
}

void
usage_free(struct usage *u)
{
	free(u);
}

uint64_t
usage_hash(const char *domain)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)domain; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h != 0 ? h : 1;
}

void
usage_note(struct usage *u, const char *domain)
{
	uint64_t h = usage_hash(domain);

	for (size_t i = 0; i < USAGE_PROBES; i++) {
		_Atomic uint64_t *s = &u->slot[(h + i) & USAGE_MASK];
		uint64_t v = atomic_load_explicit(s, memory_order_relaxed);

		if (v == h)
			return;
		if (v == 0 &&
		    (atomic_compare_exchange_strong(s, &v, h) || v == h))
			return;
	}
	atomic_fetch_add_explicit(&u->dropped, 1, memory_order_relaxed);
}

/* usage_cmp - qsort order of hashes. */
static int
usage_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

size_t
usage_drain(struct usage *u, uint64_t *out, size_t max, uint64_t *dropped)
{
	size_t n = 0, k = 0;
	uint64_t lost = 0;

	for (size_t i = 0; i < USAGE_SLOTS; i++) {
		uint64_t v;

		if (atomic_load_explicit(&u->slot[i], memory_order_relaxed) ==
		    0)
			continue;
		v = atomic_exchange(&u->slot[i], 0);
		if (v != 0 && n < max)
			out[n++] = v;
		else if (v != 0)
			lost++;
	}
	lost += atomic_exchange(&u->dropped, 0);
	if (dropped != NULL)
		*dropped = lost;
	if (n == 0)
		return 0;
	qsort(out, n, sizeof(*out), usage_cmp);
	for (size_t i = 1; i < n; i++)
		if (out[i] != out[k])
			out[++k] = out[i];
	return k + 1;
}

bool
usage_seen(const uint64_t *sorted, size_t n, const char *domain)
{
	uint64_t h = usage_hash(domain);
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sorted[mid] < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && sorted[lo] == h;
}
