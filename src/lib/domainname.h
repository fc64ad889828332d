/*
 * domainname.h - domain names as operators type them and as DNS needs them.
 *
 * SYNOPSIS
 *	#include "domainname.h"
 *
 *	The functions: see domainname.c.
 *
 * DESCRIPTION
 *	domain_normalize() turns user or envelope text into the canonical form
 *	the rest of authready compares: lowercase, no trailing dot, U-labels
 *	converted to A-labels (IDNA2008 through libidn2), every label 1..63
 *	octets of letters, digits, hyphen or underscore, the whole at most 253
 *	octets.  domain_org() gives the organizational domain from the public
 *	suffix list (libpsl), as RFC 7489 section 3.2 defines it.
 */
#ifndef AUTHREADY_DOMAINNAME_H
#define AUTHREADY_DOMAINNAME_H

#include <stdbool.h>
#include <stddef.h>

#define DOMAIN_MAX 253 /* octets, without the trailing dot */
#define DOMAIN_BUF (DOMAIN_MAX + 1)
#define LABEL_MAX 63
#define ADDRESS_PLAIN_MAX 254 /* octets of a plain local@domain */

/* domain_normalize - 0 ok; -1 with a sentence in err. */
int domain_normalize(const char *in, size_t inlen, char *out, size_t outlen,
                     char *err, size_t errlen);

/* domain_org - organizational domain of a normalized name; 0 ok, -1 when
 * the name is itself a public suffix (or the list cannot be loaded). */
int domain_org(const char *domain, char *out, size_t outlen);

/* domain_is_below - true when name is a strict subdomain of parent. */
bool domain_is_below(const char *name, const char *parent);

/* domain_join - label "." parent into out; 0 ok, -1 when too long. */
int domain_join(const char *label, const char *parent, char *out,
                size_t outlen);

/* address_plain_ok - a plain local@domain (at most ADDRESS_PLAIN_MAX
 * octets) without spaces, controls, CR, LF, <> or other specials: safe
 * in a header field (NotifyFrom, a registry contact). */
int address_plain_ok(const char *addr);

#endif
