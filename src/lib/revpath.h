/*
 * revpath.h - the SMTP reverse-path as an MTA hands it to a milter.
 *
 * SYNOPSIS
 *	#include "revpath.h"
 *
 *	The functions: see revpath.c.
 *
 * DESCRIPTION
 *	revpath_parse() takes argv[0] of xxfi_envfrom (RFC 5321 section 4.1.2
 *	Reverse-path, brackets optional) and yields the sender's local part and
 *	its domain in the form domain_normalize() gives, or says why there is
 *	no domain to look up.  See revpath.c for every acceptance decision.
 */
#ifndef AUTHREADY_REVPATH_H
#define AUTHREADY_REVPATH_H

#include <stdbool.h>
#include <stddef.h>

#include "domainname.h"

/* Beyond REVPATH_LOCAL_MAX and REVPATH_PATH_MAX a path is accepted with
 * long_local or long_path set: only the domain's limits refuse. */
#define REVPATH_LOCAL_MAX 64   /* octets, RFC 5321 4.5.3.1.1 */
#define REVPATH_DOMAIN_MAX 255 /* octets as sent, RFC 5321 4.5.3.1.2 */
#define REVPATH_PATH_MAX 256   /* octets with "<" and ">", 4.5.3.1.3 */
/* The longest argument parsed at all (brackets counted as for the path
 * limit); above the MTAs' own: Postfix's line_length_limit (2048) and
 * Sendmail's MAXLINE (2048) bound the whole MAIL FROM command. */
#define REVPATH_INPUT_MAX 4096
#define REVPATH_ERR_MAX 256 /* an err buffer this size is never cut */

/* Literal domains are kept as "[192.0.2.1]" or "[IPv6:2001:db8::1]". */
#define REVPATH_DOMAIN_BUF DOMAIN_BUF
/* A local part of up to REVPATH_LOCAL_BUF - 1 octets (every one a path
 * within REVPATH_PATH_MAX can hold) is kept whole; a longer one is kept
 * cut, at a UTF-8 character boundary, with local_cut set. */
#define REVPATH_LOCAL_BUF REVPATH_PATH_MAX

enum revpath_code {
	REVPATH_OK = 0,   /* a mailbox with a domain to look up */
	REVPATH_NULL,     /* "<>" or "": the null sender */
	REVPATH_LITERAL,  /* a mailbox at an address literal */
	REVPATH_SYNTAX,   /* not a reverse-path */
	REVPATH_TOO_LONG, /* the domain or a label exceeds its limit, or
	                     the argument REVPATH_INPUT_MAX */
};

struct revpath {
	bool null;       /* the null sender */
	bool literal;    /* domain holds an address literal */
	unsigned routes; /* source-route hops parsed and ignored */
	bool long_local; /* local part over REVPATH_LOCAL_MAX octets */
	bool long_path;  /* argument over REVPATH_PATH_MAX octets */
	bool local_cut;  /* local holds only the start of the local part */
	char local[REVPATH_LOCAL_BUF];   /* as sent, quotes kept; maybe cut */
	char domain[REVPATH_DOMAIN_BUF]; /* normalized, or the literal */
};

/* revpath_parse - an enum revpath_code; on SYNTAX and TOO_LONG out is
 * all empty and err holds one sentence, otherwise err is "". */
int revpath_parse(const char *buf, size_t len, struct revpath *out, char *err,
                  size_t errlen);

/* revpath_code_name - "ok", "null", "literal", "syntax", "too_long". */
const char *revpath_code_name(int code);

/* revpath_code_lookup - code for a revpath_code_name(); -1 if none. */
int revpath_code_lookup(const char *name);

struct revpath_reply {
	const char *disposition; /* "accept", "accept-null", ... or "reject" */
	const char *rcode;       /* SMTP reply code for a reject, else NULL */
	const char *xcode;       /* RFC 3463 enhanced status, else NULL */
	const char *text;        /* reply text for a reject, else NULL */
};

/* revpath_reply - what the milter answers for a parse outcome. */
const struct revpath_reply *revpath_reply(int code);

#endif
