/*
 * sanitize.c - bounded, printable copies of untrusted text.
 *
 * SYNOPSIS
 *	size_t sanitize_text(char *dst, size_t dstlen,
 *	    const unsigned char *src, size_t srclen);
 *	size_t sanitize_again(char *dst, size_t dstlen,
 *	    const unsigned char *src, size_t srclen);
 *
 * DESCRIPTION
 *	Printable ASCII (0x20..0x7e) is copied; every other byte becomes
 *	\xHH so that CR, LF, NUL, escape sequences and invalid UTF-8 can
 *	neither split a log line nor drive a terminal.  A backslash is
 *	written as \\ so the escaping is unambiguous.  When the text does
 *	not fit, it is cut at a whole escape and "..." is appended.
 *
 *	sanitize_again() is for text that is already escaped, by
 *	sanitize_text() or as a DNS name in presentation form (\DDD), and
 *	may have untrusted bytes added since (a sender in an SPF
 *	explanation): a backslash stays one backslash, so escaped text
 *	passes unchanged instead of being escaped twice (\\x00).
 */
#include "sanitize.h"

#include <stdbool.h>
#include <string.h>

#define SANITIZE_ELLIPSIS "..."

/* sanitize_escape - the representation of one byte; returns its length.
 * keep_backslash: a backslash is itself (text already escaped). */
static size_t
sanitize_escape(unsigned char c, bool keep_backslash, char out[5])
{
	static const char hex[] = "0123456789abcdef";

	if (c == '\\') {
		out[0] = '\\';
		out[1] = '\\';
		return keep_backslash ? 1 : 2;
	}
	if (c >= 0x20 && c <= 0x7e) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[c >> 4];
	out[3] = hex[c & 0x0f];
	return 4;
}

/* sanitize_plain - a byte that is copied as itself. */
static inline int
sanitize_plain(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e && c != '\\';
}

/* sanitize_fits - true when every escape of src fits in dstlen - 1. */
static int
sanitize_fits(size_t dstlen, const unsigned char *src, size_t srclen,
              bool keep_backslash)
{
	size_t need = 0, i;
	char esc[5];

	for (i = 0; i < srclen && need < dstlen; i++)
		need += sanitize_escape(src[i], keep_backslash, esc);
	return need < dstlen;
}

/* sanitize_escaped - the escaping loop of both functions: cut at a whole
 * escape, "..." appended when the text does not fit. */
static size_t
sanitize_escaped(char *dst, size_t dstlen, const unsigned char *src,
                 size_t srclen, bool keep_backslash)
{
	size_t ellipsis = sizeof(SANITIZE_ELLIPSIS) - 1, used = 0, i;
	/* keep room for "..." only when the text will be cut */
	size_t reserve =
	    sanitize_fits(dstlen, src, srclen, keep_backslash) ? 0 : ellipsis;

	for (i = 0; i < srclen; i++) {
		char esc[5];
		size_t n = sanitize_escape(src[i], keep_backslash, esc);

		if (used + n + reserve + 1 > dstlen) {
			if (used + ellipsis + 1 <= dstlen) {
				memcpy(dst + used, SANITIZE_ELLIPSIS, ellipsis);
				used += ellipsis;
			}
			break;
		}
		memcpy(dst + used, esc, n);
		used += n;
	}
	dst[used] = '\0';
	return used;
}

size_t
sanitize_text(char *dst, size_t dstlen, const unsigned char *src, size_t srclen)
{
	size_t i;

	if (dstlen == 0)
		return 0;
	if (srclen < dstlen) {
		/* the common case: plain text that fits is copied as is */
		for (i = 0; i < srclen && sanitize_plain(src[i]); i++)
			continue;
		if (i == srclen) {
			memcpy(dst, src, srclen);
			dst[srclen] = '\0';
			return srclen;
		}
	}
	return sanitize_escaped(dst, dstlen, src, srclen, false);
}

size_t
sanitize_again(char *dst, size_t dstlen, const unsigned char *src,
               size_t srclen)
{
	if (dstlen == 0)
		return 0;
	return sanitize_escaped(dst, dstlen, src, srclen, true);
}
