/*
 * errbuf.h - one sentence into a caller's error buffer.
 *
 * SYNOPSIS
 *	#include "errbuf.h"
 *
 *	int errbuf_fail(char *err, size_t errlen, const char *fmt, ...);
 *	int errbuf_code(char *err, size_t errlen, int code, const char *fmt,
 *	    ...);
 *	int errbuf_vfail(char *err, size_t errlen, const char *fmt, va_list ap);
 *
 * DESCRIPTION
 *	Parsers and checkers report why they refused something in a buffer
 *	the caller owns (err, errlen).  errbuf_fail() formats that sentence,
 *	cut to fit and always NUL-terminated, and returns -1, so that a
 *	refusal is one statement: "return errbuf_fail(err, errlen, ...);".
 *	A NULL err or a zero errlen is allowed: nothing is written.  Text from
 *	strangers must be made printable (sanitize_text) before it goes in.
 */
#ifndef AUTHREADY_ERRBUF_H
#define AUTHREADY_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

/* errbuf_fail - format into err when there is room; returns -1. */
int errbuf_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* errbuf_code - the same, returning code (a parser's own refusal codes). */
int errbuf_code(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* errbuf_vfail - the same with a va_list; returns -1. */
int errbuf_vfail(char *err, size_t errlen, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
