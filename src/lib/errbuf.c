/*
 * errbuf.c - one sentence into a caller's error buffer; see errbuf.h.
 *
 * SYNOPSIS
 *	See errbuf.h.
 */
#include "errbuf.h"

#include <stdio.h>

int
errbuf_vfail(char *err, size_t errlen, const char *fmt, va_list ap)
{
	if (err != NULL && errlen > 0)
		vsnprintf(err, errlen, fmt, ap);
	return -1;
}

int
errbuf_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errbuf_vfail(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int
errbuf_code(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errbuf_vfail(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}
