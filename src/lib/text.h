/*
 * text.h - small text helpers, each written once.
 *
 * SYNOPSIS
 *	size_t text_copy(char *dst, size_t size, const char *src);
 *	void text_append(char *dst, size_t size, size_t *used,
 *	    const char *src);
 *	const char *text_quote(char *buf, size_t size, const char *text,
 *	    size_t len);
 *	bool text_ieq(const char *buf, size_t len, const char *word);
 *	bool text_ieq_n(const char *a, const char *b, size_t n);
 *	int text_lower(int c);
 *	bool text_is_alpha(unsigned char c);
 *	bool text_is_digit(unsigned char c);
 *	int text_refuse_control(const char *text, size_t len,
 *	    const char *what, bool allow_tab, char *err, size_t errlen);
 *	uint64_t text_now_ms(void);
 *
 * DESCRIPTION
 *	snprintf(dst, size, "%s", src) is the safe copy everywhere else; on
 *	the per-decision path of the milter it costs a format parse per call.
 *	text_copy() and text_append() do the same job with the same
 *	contract: cut to fit, always NUL-terminated, never past size.
 *
 *	text_quote() is how a message shows untrusted text: a printable,
 *	bounded copy (sanitize_text()).  The character classes are ASCII
 *	only, independent of the locale, as the protocols want.
 *	text_now_ms() is the one clock of deadlines: CLOCK_MONOTONIC in
 *	milliseconds.
 */
#ifndef AUTHREADY_TEXT_H
#define AUTHREADY_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

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

/* text_quote - a printable copy of untrusted text[0..len) in buf (size
 * octets, cut to fit); returns buf. */
const char *text_quote(char *buf, size_t size, const char *text, size_t len);

/* text_ieq - buf[0..len) spells word, ignoring ASCII case. */
bool text_ieq(const char *buf, size_t len, const char *word);

/* text_ieq_n - a[0..n) and b[0..n) are equal, ignoring ASCII case. */
bool text_ieq_n(const char *a, const char *b, size_t n);

/* text_lower - ASCII-only tolower, independent of the locale. */
static inline int
text_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* text_is_alpha - an ASCII letter. */
static inline bool
text_is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* text_is_digit - an ASCII digit. */
static inline bool
text_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* text_refuse_control - -1 with "WHAT contains a NUL byte" or "... the
 * control character \\xHH" for the first NUL or control byte (TAB
 * allowed when allow_tab) of text[0..len); 0 when there is none. */
int text_refuse_control(const char *text, size_t len, const char *what,
                        bool allow_tab, char *err, size_t errlen);

/* text_now_ms - CLOCK_MONOTONIC in milliseconds. */
static inline uint64_t
text_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif
