/*
 * NAME
 *	fuzz_queued - libFuzzer target for the hold queue listing reader
 * SYNOPSIS
 *	make -f fuzz/Makefile.fuzz top_srcdir=$PWD builddir=/tmp/fz \
 *	    /tmp/fz/fuzz/fuzz_queued
 * DESCRIPTION
 *	Hands the input, as one line of "postqueue -j", to
 *	release_parse_queued() in a buffer of exactly its size (libFuzzer's
 *	own), so that a read past the end is caught, and what it accepts
 *	to release_judge() against a fixed held entry.  Aborts when a
 *	result breaks the contract: a field not NUL-terminated within its
 *	buffer, a failed parse that leaves anything behind, a judgement of
 *	"release" for an entry the listing does not show on hold, or a
 *	reason that is not printable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "release.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_terminated - abort unless s has a NUL within n octets. */
static void
check_terminated(const char *s, size_t n)
{
	if (memchr(s, '\0', n) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct release_queued zero;
	struct release_queued q;
	struct held_msg m;
	char why[RELEASE_WHY_MAX];
	size_t i;

	if (release_parse_queued((const char *)data, size, &q) != 0) {
		if (memcmp(&q, &zero, sizeof(q)) != 0)
			abort();
		return 0;
	}
	check_terminated(q.queue_name, sizeof(q.queue_name));
	check_terminated(q.queue_id, sizeof(q.queue_id));
	check_terminated(q.sender, sizeof(q.sender));
	memset(&m, 0, sizeof(m));
	strcpy(m.domain, "example.com");
	strcpy(m.queue_id, "Q1");
	strcpy(m.sender, "user@example.com");
	m.held_at = 1700000000;
	why[0] = '\0';
	if (release_judge(&m, "example.com", &q, why, sizeof(why))) {
		if (strcmp(q.queue_name, "hold") != 0)
			abort();
	} else {
		for (i = 0; why[i] != '\0'; i++)
			if ((unsigned char)why[i] < 0x20 ||
			    (unsigned char)why[i] > 0x7e)
				abort();
		if (i == 0)
			abort();
	}
	return 0;
}
