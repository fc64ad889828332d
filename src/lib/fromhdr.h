/*
 * fromhdr.h - the mailboxes of a From header field, as receivers read them.
 *
 * SYNOPSIS
 *	#include "fromhdr.h"
 *
 *	The functions: see fromhdr.c.
 *
 * DESCRIPTION
 *	fromhdr_parse() reads the value of one From header field (RFC 5322
 *	section 3.6.2: a mailbox-list, or an address-list with groups as
 *	RFC 6854 allows) and gives the number of mailboxes in it and the
 *	domain of each of the first FROMHDR_KEEP, in the form
 *	domain_normalize() gives the envelope domain (lowercase, A-labels,
 *	no trailing dot).  The domain that counts is the one a receiver's
 *	DMARC takes: the addr-spec inside the angle brackets, never a
 *	display name, a comment or a route.  See fromhdr.c for every
 *	acceptance decision.  Pure: no allocation, no I/O.
 */
#ifndef AUTHREADY_FROMHDR_H
#define AUTHREADY_FROMHDR_H

#include <stdbool.h>
#include <stddef.h>

#include "domainname.h"

/* The longest value parsed at all (Postfix's header_size_limit is
 * 102400 for a whole header; no honest From comes near this). */
#define FROMHDR_INPUT_MAX 16384
#define FROMHDR_KEEP 4           /* mailboxes whose domain is kept */
#define FROMHDR_COMMENT_DEPTH 32 /* nested comments */
#define FROMHDR_LOCAL_BUF 256    /* the first local part, maybe cut */
#define FROMHDR_DOMAIN_BUF DOMAIN_BUF
#define FROMHDR_ERR_MAX 256 /* an err buffer this size is never cut */

enum fromhdr_code {
	FROMHDR_OK = 0,   /* one or more mailboxes */
	FROMHDR_EMPTY,    /* no mailbox: an empty value or empty groups */
	FROMHDR_SYNTAX,   /* not an address-list */
	FROMHDR_TOO_LONG, /* the value, or a domain, exceeds its limit */
};

/* One mailbox: its domain, normalized, or an address literal as
 * written ("[192.0.2.1]"). */
struct fromhdr_box {
	bool literal;
	char domain[FROMHDR_DOMAIN_BUF];
};

struct fromhdr {
	unsigned count;  /* mailboxes in the value, groups included */
	unsigned kept;   /* of them in box[], min(count, FROMHDR_KEEP) */
	unsigned groups; /* group constructs seen */
	unsigned routes; /* obs-route hops parsed and ignored */
	bool name_at;    /* an unquoted '@' in a display name */
	bool local_cut;  /* local holds only the start of the local part */
	char local[FROMHDR_LOCAL_BUF]; /* the first mailbox's local part,
	                                  CFWS removed, quotes kept */
	struct fromhdr_box box[FROMHDR_KEEP];
};

/* fromhdr_parse - an enum fromhdr_code; on EMPTY, SYNTAX and TOO_LONG
 * out has no mailbox and err holds one sentence, otherwise err is "". */
int fromhdr_parse(const char *buf, size_t len, struct fromhdr *out, char *err,
                  size_t errlen);

/* fromhdr_code_name - "ok", "empty", "syntax", "too_long". */
const char *fromhdr_code_name(int code);

#endif
