/*
 * errbuf.c - one sentence into a caller's error buffer; see errbuf.h.
 */
#include "errbuf.h"

#include <stdarg.h>
#include <stdio.h>

int
errbuf_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}
