/*
 * netlist.h - lists of IPv4 and IPv6 networks (InternalHosts).
 *
 * SYNOPSIS
 *	#include "netlist.h"
 *
 *	The functions: see netlist.c.
 *
 * DESCRIPTION
 *	A netlist says which SMTP clients are "ours": text such as
 *	"127.0.0.0/8, ::1, 192.0.2.0/24, 2001:db8::/32" parsed once at
 *	configuration time, matched against the client address of every
 *	connection.  Entries are CIDR blocks or bare addresses (a bare address
 *	is a /32 or /128, as in OpenDKIM's InternalHosts); "!" before an entry
 *	excludes it (an excluded match wins over any included one).  IPv4
 *	entries also match IPv4-mapped IPv6 clients (::ffff:192.0.2.1).
 *
 *	A netlist is a plain bounded value: it can be copied with the config
 *	snapshot that holds it.
 */
#ifndef AUTHREADY_NETLIST_H
#define AUTHREADY_NETLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#define NETLIST_MAX 256      /* entries in one list */
#define NETLIST_ENTRY_MAX 64 /* octets of one entry's text */
#define NETLIST_LOOPBACK "127.0.0.0/8, ::1"

struct netlist_entry {
	uint8_t addr[16]; /* IPv6, or IPv4 as ::ffff:a.b.c.d */
	uint8_t prefix;   /* 0..128, on the 16-octet form */
	uint8_t v4;       /* written as IPv4 */
	uint8_t negate;   /* "!": an exclusion */
};

struct netlist {
	uint32_t count;
	struct netlist_entry e[NETLIST_MAX];
};

/* netlist_init - an empty list (matches nothing). */
void netlist_init(struct netlist *nl);

/* netlist_loopback - the default list: 127.0.0.0/8 and ::1. */
void netlist_loopback(struct netlist *nl);

/*
 * netlist_parse - replace nl with the entries of buf: separated by
 * commas, white space or newlines; "#" to the end of a line is a comment.
 * 0 ok; -1 with a sentence naming the bad entry in err, nl unchanged.
 * An empty text gives an empty list.
 */
int netlist_parse(struct netlist *nl, const char *buf, size_t len, char *err,
                  size_t errlen);

/* netlist_add - append one entry ("!"? address ["/" prefix]); 0 or -1. */
int netlist_add(struct netlist *nl, const char *buf, size_t len, char *err,
                size_t errlen);

/* Flags of netlist_addr_parse: what may surround the address.  With
 * NETLIST_HOST_BITS, "192.0.2.7/24" is accepted (the caller takes the
 * network it lies in, 192.0.2.0/24). */
#define NETLIST_PREFIX 0x1    /* "/prefix" */
#define NETLIST_HOST_BITS 0x2 /* bits set past the prefix */
#define NETLIST_BRACKETS 0x4  /* "[2001:db8::1]" */

/*
 * netlist_addr_parse - one address (dotted quad without leading zeros, or
 * IPv6 text) with what flags allow, into e: the 16-octet form, prefix on
 * it (a.b.c.d/n is ::ffff:a.b.c.d/96+n; no prefix: 128), v4 when written
 * as IPv4; negate 0.  0 ok; -1 with a sentence quoting buf in err.
 */
int netlist_addr_parse(const char *buf, size_t len, unsigned flags,
                       struct netlist_entry *e, char *err, size_t errlen);

/* netlist_mapped_v4 - addr is in ::ffff:0:0/96 (an IPv4 address). */
bool netlist_mapped_v4(const uint8_t addr[16]);

/* netlist_match - the client address is in the list (and not excluded). */
bool netlist_match(const struct netlist *nl, const struct sockaddr *sa);

/* netlist_match_text - the same for an address in text form. */
bool netlist_match_text(const struct netlist *nl, const char *text);

#endif
