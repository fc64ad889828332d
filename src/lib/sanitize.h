/*
 * sanitize.h - turn untrusted bytes into bounded, printable text.
 *
 * SYNOPSIS
 *	#include "sanitize.h"
 *
 *	The functions: see sanitize.c.
 *
 * DESCRIPTION
 *	DNS answers and envelope senders come from strangers.  Before such text
 *	reaches a terminal, a JSON document or syslog it goes through
 *	sanitize_text(): printable ASCII is kept, every other byte (controls,
 *	NUL, DEL, bytes >= 0x80) becomes \xHH, and output that does not fit is
 *	cut and ends in "...".  The result is always NUL-terminated.
 */
#ifndef AUTHREADY_SANITIZE_H
#define AUTHREADY_SANITIZE_H

#include <stddef.h>

/* sanitize_text - returns the length written (excluding the NUL). */
size_t sanitize_text(char *dst, size_t dstlen, const unsigned char *src,
                     size_t srclen);

/* sanitize_again - the same for text that is already escaped: a backslash
 * is kept as it is, so escapes are not escaped twice. */
size_t sanitize_again(char *dst, size_t dstlen, const unsigned char *src,
                      size_t srclen);

#endif
