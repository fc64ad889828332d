/*
 * netlist.c - lists of IPv4 and IPv6 networks (InternalHosts).
 *
 * SYNOPSIS
 *	void netlist_init(struct netlist *nl);
 *	void netlist_loopback(struct netlist *nl);
 *	int netlist_parse(struct netlist *nl, const char *buf, size_t len,
 *	    char *err, size_t errlen);
 *	int netlist_add(struct netlist *nl, const char *buf, size_t len,
 *	    char *err, size_t errlen);
 *	bool netlist_match(const struct netlist *nl,
 *	    const struct sockaddr *sa);
 *	bool netlist_match_text(const struct netlist *nl, const char *text);
 *	int netlist_addr_parse(const char *buf, size_t len, unsigned flags,
 *	    struct netlist_entry *e, char *err, size_t errlen);
 *	bool netlist_mapped_v4(const uint8_t addr[16]);
 *
 * DESCRIPTION
 *	Every entry is kept in the 16-octet IPv6 form: an IPv4 entry
 *	a.b.c.d/n becomes ::ffff:a.b.c.d/(96+n), so that IPv4 clients and
 *	IPv4-mapped IPv6 clients compare the same way.  An IPv6 entry shorter
 *	than /96 (such as ::/0) does not cover the mapped space: it matches
 *	IPv6 clients only, so "any IPv6" never silently means "any IPv4".
 *
 *	An entry is an address with an optional "/prefix"; an IPv6 address
 *	may be written in brackets ("[2001:db8::]/32").  Host bits beyond the
 *	prefix ("192.0.2.1/24") are an error rather than a guess.  Host names
 *	are not accepted: there is no DNS at configuration time.
 *
 *	netlist_addr_parse() is the one parser of address text in authready:
 *	list entries, EgressIPs and --egress-ip (a prefix, host bits allowed:
 *	the range the address lies in), the registry's egress addresses and
 *	SPF's --ip (no prefix) all go through it.
 *
 * DIAGNOSTICS
 *	-1 with a sentence that quotes the bad entry (sanitized) in err.
 */
#include "netlist.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "sanitize.h"

#define NETLIST_QUOTE_MAX 80
#define NETLIST_V4_BIAS 96 /* prefix bits of ::ffff:0:0/96 */

static const uint8_t netlist_mapped[12] = {0, 0, 0, 0, 0,    0,
                                           0, 0, 0, 0, 0xff, 0xff};

/* netlist_fail - format a message into err; returns -1. */
static int
netlist_fail(char *err, size_t errlen, const char *what, const char *buf,
             size_t len)
{
	char q[NETLIST_QUOTE_MAX];

	sanitize_text(q, sizeof(q), (const unsigned char *)buf, len);
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "'%s' %s", q, what);
	return -1;
}

void
netlist_init(struct netlist *nl)
{
	memset(nl, 0, sizeof(*nl));
}

void
netlist_loopback(struct netlist *nl)
{
	netlist_init(nl);
	(void)netlist_parse(nl, NETLIST_LOOPBACK, strlen(NETLIST_LOOPBACK),
	                    NULL, 0);
}

/* netlist_prefix - "0".."max" without sign or leading junk; -1 bad. */
static int
netlist_prefix(const char *p, size_t len, int max)
{
	int n = 0;
	size_t i;

	if (len == 0 || len > 3)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		n = n * 10 + (p[i] - '0');
	}
	return n > max ? -1 : n;
}

/* netlist_host_bits - true when addr has bits set past prefix. */
static bool
netlist_host_bits(const uint8_t addr[16], unsigned prefix)
{
	unsigned i;

	for (i = prefix; i < 128; i++)
		if (addr[i / 8] & (0x80 >> (i % 8)))
			return true;
	return false;
}

/* netlist_address - text (no prefix, no brackets) to the 16-octet form. */
static int
netlist_address(const char *text, uint8_t out[16], bool *v4)
{
	struct in_addr a4;

	if (strchr(text, ':') == NULL) {
		if (inet_pton(AF_INET, text, &a4) != 1)
			return -1;
		memcpy(out, netlist_mapped, sizeof(netlist_mapped));
		memcpy(out + 12, &a4, 4);
		*v4 = true;
		return 0;
	}
	*v4 = false;
	return inet_pton(AF_INET6, text, out) == 1 ? 0 : -1;
}

/*
 * netlist_addr_quoted - p[0..n): an address, with "/prefix" and brackets
 * when flags allow, into e (negate left 0); messages quote buf[0..len),
 * the entry as written.  0 or -1 with err.
 */
static int
netlist_addr_quoted(const char *p, size_t n, unsigned flags,
                    struct netlist_entry *e, const char *buf, size_t len,
                    char *err, size_t errlen)
{
	char text[NETLIST_ENTRY_MAX];
	const char *slash;
	size_t alen;
	int prefix;
	bool v4;

	memset(e, 0, sizeof(*e));
	if (n == 0 || n >= sizeof(text) || memchr(p, '\0', n) != NULL)
		return netlist_fail(err, errlen,
		                    "is not an IPv4 or IPv6 address", buf, len);
	slash = memchr(p, '/', n);
	if (slash != NULL && !(flags & NETLIST_PREFIX))
		return netlist_fail(err, errlen,
		                    "is not an IPv4 or IPv6 address", buf, len);
	alen = slash ? (size_t)(slash - p) : n;
	if (alen >= 2 && p[0] == '[' && p[alen - 1] == ']' &&
	    (flags & NETLIST_BRACKETS)) {
		memcpy(text, p + 1, alen - 2);
		text[alen - 2] = '\0';
		if (strchr(text, ':') == NULL)
			return netlist_fail(
			    err, errlen, "has brackets around an IPv4 address",
			    buf, len);
	} else {
		memcpy(text, p, alen);
		text[alen] = '\0';
	}
	if (netlist_address(text, e->addr, &v4) != 0)
		return netlist_fail(err, errlen,
		                    "is not an IPv4 or IPv6 address", buf, len);
	e->v4 = v4;
	prefix = v4 ? 32 : 128;
	if (slash != NULL) {
		prefix = netlist_prefix(slash + 1, n - alen - 1, prefix);
		if (prefix < 0)
			return netlist_fail(
			    err, errlen,
			    v4 ? "has a prefix length not in 0..32"
			       : "has a prefix length not in 0..128",
			    buf, len);
	}
	e->prefix = (uint8_t)(v4 ? prefix + NETLIST_V4_BIAS : prefix);
	if (!(flags & NETLIST_HOST_BITS) &&
	    netlist_host_bits(e->addr, e->prefix))
		return netlist_fail(err, errlen,
		                    "has bits set past its prefix length "
		                    "(write the network address)",
		                    buf, len);
	return 0;
}

int
netlist_addr_parse(const char *buf, size_t len, unsigned flags,
                   struct netlist_entry *e, char *err, size_t errlen)
{
	return netlist_addr_quoted(buf, len, flags, e, buf, len, err, errlen);
}

bool
netlist_mapped_v4(const uint8_t addr[16])
{
	return memcmp(addr, netlist_mapped, sizeof(netlist_mapped)) == 0;
}

/* netlist_entry_parse - one list entry ("!"? address ["/" prefix]). */
static int
netlist_entry_parse(const char *buf, size_t len, struct netlist_entry *e,
                    char *err, size_t errlen)
{
	bool negate = len > 0 && buf[0] == '!';

	if (netlist_addr_quoted(buf + negate, len - negate,
	                        NETLIST_PREFIX | NETLIST_BRACKETS, e, buf, len,
	                        err, errlen) != 0)
		return -1;
	e->negate = negate;
	return 0;
}

int
netlist_add(struct netlist *nl, const char *buf, size_t len, char *err,
            size_t errlen)
{
	struct netlist_entry e;

	if (netlist_entry_parse(buf, len, &e, err, errlen) != 0)
		return -1;
	if (nl->count >= NETLIST_MAX)
		return netlist_fail(err, errlen,
		                    "does not fit: the list is full", buf, len);
	nl->e[nl->count++] = e;
	return 0;
}

/* netlist_sep - a byte that separates entries. */
static bool
netlist_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
netlist_parse(struct netlist *nl, const char *buf, size_t len, char *err,
              size_t errlen)
{
	struct netlist work;
	size_t i = 0, start;

	netlist_init(&work);
	while (i < len) {
		if (netlist_sep(buf[i])) {
			i++;
			continue;
		}
		if (buf[i] == '#') {
			while (i < len && buf[i] != '\n')
				i++;
			continue;
		}
		start = i;
		while (i < len && !netlist_sep(buf[i]) && buf[i] != '#')
			i++;
		if (netlist_add(&work, buf + start, i - start, err, errlen))
			return -1;
	}
	*nl = work;
	return 0;
}

/* netlist_in - addr lies in the entry's network. */
static bool
netlist_in(const struct netlist_entry *e, const uint8_t addr[16], bool v4)
{
	unsigned full = e->prefix / 8, rest = e->prefix % 8;
	uint8_t mask;

	if (v4 && !e->v4 && e->prefix < NETLIST_V4_BIAS)
		return false;
	if (memcmp(e->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (e->addr[full] & mask) == (addr[full] & mask);
}

/* netlist_match16 - match on the 16-octet form of a client. */
static bool
netlist_match16(const struct netlist *nl, const uint8_t addr[16])
{
	bool v4 = memcmp(addr, netlist_mapped, sizeof(netlist_mapped)) == 0;
	bool hit = false;
	uint32_t i;

	for (i = 0; i < nl->count && i < NETLIST_MAX; i++) {
		if (!netlist_in(&nl->e[i], addr, v4))
			continue;
		if (nl->e[i].negate)
			return false;
		hit = true;
	}
	return hit;
}

bool
netlist_match(const struct netlist *nl, const struct sockaddr *sa)
{
	uint8_t addr[16];

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		memcpy(addr, netlist_mapped, sizeof(netlist_mapped));
		memcpy(addr + 12, &s4->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		memcpy(addr, &s6->sin6_addr, 16);
	} else {
		return false;
	}
	return netlist_match16(nl, addr);
}

bool
netlist_match_text(const struct netlist *nl, const char *text)
{
	uint8_t addr[16];
	bool v4;

	if (text == NULL || strlen(text) >= NETLIST_ENTRY_MAX ||
	    netlist_address(text, addr, &v4) != 0)
		return false;
	return netlist_match16(nl, addr);
}
