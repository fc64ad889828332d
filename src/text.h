/*
 * text.h - bounded string copies for hot paths.
 *
 * snprintf(dst, size, "%s", src) is the safe copy everywhere else; on
 * the per-decision path of the milter it costs a format parse per call.
 * text_copy() and text_append() do the same job with the same contract:
 * cut to fit, always NUL-terminated, never past size.
 */
#ifndef AUTHREADY_TEXT_H
#define AUTHREADY_TEXT_H

#include <stddef.h>
#include <string.h>

/* text_copy - src into dst of size bytes; returns the length copied. */
static inline size_t
text_copy(char *dst, size_t size, const char *src)
{
	size_t n;

	if (size == 0)
		return 0;
	n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}

/* text_append - src after the *used bytes of dst, cut to fit; *used
 * grows by what was copied. */
static inline void
text_append(char *dst, size_t size, size_t *used, const char *src)
{
	if (*used < size)
		*used += text_copy(dst + *used, size - *used, src);
}

#endif
