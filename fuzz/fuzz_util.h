/*
 * NAME
 *	fuzz_util.h - helpers shared by the libFuzzer targets
 * SYNOPSIS
 *	#include "fuzz_util.h"
 *
 *	void *fuzz_dup(const void *data, size_t len);
 *	char *fuzz_strdup(const void *data, size_t len);
 *	void fuzz_printable(const char *text, size_t size);
 *	void fuzz_check_result(const struct check_result *res);
 *	size_t fuzz_split(const uint8_t *data, size_t size, const char *sep,
 *	    struct fuzz_part *parts, size_t nparts);
 * DESCRIPTION
 *	fuzz_dup() copies input into a heap block of exactly its size, so
 *	that AddressSanitizer catches a parser that reads one byte past
 *	the length it was given even when the bytes came from the middle
 *	of libFuzzer's buffer.  fuzz_strdup() does the same and adds a NUL
 *	for interfaces that take C strings.
 *
 *	fuzz_printable() aborts unless text holds a NUL within size bytes
 *	and every byte before it is printable ASCII, the promise every
 *	sanitized field makes.  fuzz_check_result() applies it to each
 *	text field of a check_result and checks the enums.
 *
 *	fuzz_split() cuts the input at every occurrence of sep into at
 *	most nparts parts (the last takes the rest); it returns how many
 *	parts were found and leaves the others empty.
 */
#ifndef AUTHREADY_FUZZ_UTIL_H
#define AUTHREADY_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

struct fuzz_part {
	const uint8_t *p;
	size_t n;
};

/* fuzz_dup - an exact-size heap copy (one byte for an empty input). */
static inline void *
fuzz_dup(const void *data, size_t len)
{
	void *p = malloc(len > 0 ? len : 1);

	if (p == NULL)
		abort();
	if (len > 0)
		memcpy(p, data, len);
	return p;
}

/* fuzz_strdup - an exact-size heap copy plus a NUL. */
static inline char *
fuzz_strdup(const void *data, size_t len)
{
	char *p = malloc(len + 1);

	if (p == NULL)
		abort();
	if (len > 0)
		memcpy(p, data, len);
	p[len] = '\0';
	return p;
}

/* fuzz_printable - abort unless text is printable ASCII, NUL in size. */
static inline void
fuzz_printable(const char *text, size_t size)
{
	size_t i;

	for (i = 0; i < size && text[i] != '\0'; i++)
		if ((unsigned char)text[i] < 0x20 ||
		    (unsigned char)text[i] > 0x7e)
			abort();
	if (i == size)
		abort();
}

/* fuzz_check_result - the promises of report.h on one result. */
static inline void
fuzz_check_result(const struct check_result *res)
{
	if ((unsigned)res->status > CHECK_TEMPERROR ||
	    (unsigned)res->type > CHECK_MX)
		abort();
	fuzz_printable(res->name, sizeof(res->name));
	fuzz_printable(res->expected, sizeof(res->expected));
	fuzz_printable(res->seen, sizeof(res->seen));
	fuzz_printable(res->detail, sizeof(res->detail));
	if (res->detail[0] == '\0')
		abort();
}

/* fuzz_split - cut data at each sep; returns the parts found. */
static inline size_t
fuzz_split(const uint8_t *data, size_t size, const char *sep,
           struct fuzz_part *parts, size_t nparts)
{
	size_t seplen = strlen(sep), i, n = 0;
	const uint8_t *end = data + size, *hit;

	for (i = 0; i < nparts; i++) {
		parts[i].p = (const uint8_t *)"";
		parts[i].n = 0;
	}
	while (n < nparts) {
		hit = n + 1 < nparts
		          ? memmem(data, (size_t)(end - data), sep, seplen)
		          : NULL;
		parts[n].p = data;
		parts[n].n =
		    hit != NULL ? (size_t)(hit - data) : (size_t)(end - data);
		n++;
		if (hit == NULL)
			break;
		data = hit + seplen;
	}
	return n;
}

#endif
