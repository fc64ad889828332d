/*
 * dnsmsg.h - DNS wire-format answer parsing (RFC 1035), bounded and pure.
 *
 * SYNOPSIS
 *	#include "dnsmsg.h"
 *
 *	The functions: see dnsmsg.c.
 *
 * DESCRIPTION
 *	dnsmsg_parse() takes a raw response as received from the network and
 *	turns it into a dns_answer: the outcome (NXDOMAIN, NODATA, SERVFAIL,
 *	...) and the records of the asked type owned by the asked name, after
 *	following any CNAME chain inside the answer section.  It never trusts a
 *	length: names are decoded with loop-safe, backward-only compression
 *	pointers and the 255-octet limit; every RDATA is checked against
 *	RDLENGTH and the message end.
 *
 *	TXT: the character-strings of one record are concatenated with no
 *	separator (RFC 7208 section 3.3, RFC 6376 section 3.6.2.2); distinct
 *	records are never merged.  The value may contain NUL and control bytes;
 *	consumers use the explicit length.
 *	MX: preference and exchange name (presentation form, lowercase).
 */
#ifndef AUTHREADY_DNSMSG_H
#define AUTHREADY_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_PTR 12
#define DNS_TYPE_MX 15
#define DNS_TYPE_TXT 16
#define DNS_TYPE_AAAA 28

/* A name in presentation form: 255 wire octets, each up to 4 chars. */
#define DNS_NAME_TEXT_MAX 1024
#define DNS_CNAME_HOPS_MAX 8 /* CNAMEs followed per lookup, in total */
#define DNS_ANSWER_RRS_MAX 256

enum dns_outcome {
	DNS_OK,            /* at least one record of the type */
	DNS_NXDOMAIN,      /* the name does not exist */
	DNS_NODATA,        /* the name exists, no record of the type */
	DNS_SERVFAIL,      /* server failure */
	DNS_REFUSED,       /* the server refused */
	DNS_TIMEOUT,       /* no answer within the deadline */
	DNS_FORMERR,       /* malformed query or response */
	DNS_CNAME_PENDING, /* answer ends in a CNAME; query its target */
	DNS_CNAME_LOOP,    /* CNAME loop, or chain over the bound */
	DNS_ERROR,         /* any other failure (network, resources) */
};

struct dns_rr {
	uint16_t type;
	uint32_t ttl;
	uint16_t preference; /* MX only */
	size_t len;          /* bytes in data, excluding the added NUL */
	unsigned char *data; /* TXT value, or MX exchange; NUL-terminated */
};

struct dns_answer {
	enum dns_outcome outcome;
	uint16_t qtype;
	char qname[DNS_NAME_TEXT_MAX]; /* as asked */
	char
	    final_name[DNS_NAME_TEXT_MAX]; /* after CNAMEs; target if pending */
	unsigned cname_hops;
	size_t count;
	struct dns_rr *rrs; /* count entries, owned by the answer */
	char error[128];    /* words for outcomes other than OK/NODATA */
};

/*
 * dnsmsg_parse - parse a response to (qname, qtype).
 * Fills ans (call dns_answer_free() after); returns 0, or -1 with
 * ans->outcome DNS_FORMERR and ans->error set when the message is
 * malformed.  hops is the number of CNAMEs already followed.
 */
int dnsmsg_parse(const unsigned char *msg, size_t len, const char *qname,
                 uint16_t qtype, unsigned hops, struct dns_answer *ans);

/* dns_answer_init - an empty answer with an outcome and reason. */
void dns_answer_init(struct dns_answer *ans, const char *qname, uint16_t qtype,
                     enum dns_outcome outcome, const char *error);

void dns_answer_free(struct dns_answer *ans);

/* dns_outcome_is_temporary - SERVFAIL, REFUSED, TIMEOUT, FORMERR, ERROR. */
bool dns_outcome_is_temporary(enum dns_outcome outcome);

const char *dns_outcome_name(enum dns_outcome outcome);

/* dnsmsg_name_equal - case-insensitive, ignoring one trailing dot. */
bool dnsmsg_name_equal(const char *a, const char *b);

#endif
