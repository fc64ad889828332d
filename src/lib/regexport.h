/*
 * regexport.h - registry entries as CSV that `domain import` reads back.
 *
 * SYNOPSIS
 *	#include "regexport.h"
 *
 *	int regexport_header(char *buf, size_t len, size_t *outlen);
 *	int regexport_row(const struct domain_reg *reg, char *buf,
 *	    size_t len, size_t *outlen, char *why, size_t whylen);
 *
 * DESCRIPTION
 *	The export side of regimport.c: one header line naming every column
 *	of regimport's table, in its order, and one line per entry, so that
 *	regimport_row() gives back the same struct domain_reg (every field,
 *	the registration time included).  Values are written as stored: the
 *	MAIL FROM label or name as given, selectors as SEL or SEL=KEYFILE
 *	(SEL="KEYFILE" when the path holds spaces), egress addresses
 *	separated by spaces, the policy by name, the time as
 *	2026-12-05T12:30:04Z (seconds when it does not fit that form).  A
 *	field is quoted (RFC 4180) when it holds a comma, a quote, a space
 *	or a tab.  Pure: no I/O.
 *
 * DIAGNOSTICS
 *	0 with the line (LF-terminated) in buf and its length in *outlen;
 *	-1 when buf is too small or a value cannot be written so that it
 *	reads back (a key path with both a space and a quote), with why.
 */
#ifndef AUTHREADY_REGEXPORT_H
#define AUTHREADY_REGEXPORT_H

#include <stddef.h>

#include "domain.h"

/* Room for any line regexport_row() writes. */
#define REGEXPORT_LINE_MAX 16384

int regexport_header(char *buf, size_t len, size_t *outlen);
int regexport_row(const struct domain_reg *reg, char *buf, size_t len,
                  size_t *outlen, char *why, size_t whylen);

#endif
