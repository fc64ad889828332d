/*
 * json.h - the little JSON writing the programs need (RFC 8259).
 *
 * SYNOPSIS
 *	#include "json.h"
 *
 *	void json_put_string(FILE *out, const char *s);
 *	void json_field(FILE *out, const char *key, const char *value,
 *	    bool last);
 *
 * DESCRIPTION
 *	Strings are escaped completely: quote, backslash, every control byte and
 *	every byte outside ASCII (as \u00XX, which keeps the output ASCII; our
 *	text is sanitized before it gets here, so such bytes are not expected).
 */
#ifndef AUTHREADY_JSON_H
#define AUTHREADY_JSON_H

#include <stdbool.h>
#include <stdio.h>

/* json_put_string - write s as a JSON string literal (jansson has a
 * json_string() of its own, and authready-api links both). */
void json_put_string(FILE *out, const char *s);

/* json_field - write "key": "value" and a separator unless last. */
void json_field(FILE *out, const char *key, const char *value, bool last);

#endif
