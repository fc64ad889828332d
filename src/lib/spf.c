/*
 * spf.c - SPF (RFC 7208) parsing, macro expansion, check_host() and
 * validation, without blocking.
 *
 * SYNOPSIS
 *	bool spf_is_record(buf, len);
 *	int spf_parse(buf, len, out, err, errlen);
 *	int spf_macro_expand(in, inlen, ctx, exp, out, outlen, truncated,
 *	    err, errlen);
 *	int spf_target_name(name);
 *	int spf_addr_parse(text, out);
 *	int spf_range_parse(text, out);
 *	int spf_check_host(res, req, out, done, arg);
 *	int spf_validate(resv, req, res, done, arg);
 *
 * DESCRIPTION
 *	The parser checks the whole record before anything is evaluated
 *	(section 4.6): only printable ASCII and spaces, every term of the
 *	ABNF of section 12, dual CIDR lengths without leading zeros,
 *	domain-specs that end in a macro or a valid toplabel (section 7.1),
 *	macro syntax in every domain-spec and modifier, redirect and exp at
 *	most once.  Terms are kept as offsets into the caller's bytes.
 *
 *	check_host() is a state machine driven by resolver callbacks.  An
 *	include pushes a frame; redirect replaces the current one.  At most
 *	one step is pending at a time; mx and ptr fan out their address
 *	lookups (at most SPF_NAMES_MAX) and wait for all of them.  The
 *	counters of section 4.6.4 are kept for the whole evaluation; the
 *	overall deadline is checked on every answer, and lookups are asked
 *	with it (query_by) where the resolver can, so the evaluation ends by
 *	the deadline (else by the deadline plus one lookup).
 *
 *	spf_validate() walks the include/redirect tree (names without
 *	macros only), looks up the targets of a and mx to count void
 *	lookups, then runs check_host() for every egress address.  An
 *	egress range must pass for every address in it: the ip4 and ip6
 *	networks of the tree cut it into pieces inside which each of those
 *	terms matches all addresses or none, and check_host() runs once per
 *	piece (val_probes).  The result is exact when ip4/ip6 are the only
 *	terms that depend on the address; a, mx, ptr, exists and macros are
 *	judged at those probes only (their addresses are not known to the
 *	walk).
 *
 * DIAGNOSTICS
 *	Syntax errors name the offending term, sanitized and shortened.
 *	Evaluation never fails: DNS trouble is temperror, a broken policy
 *	permerror, as the RFC says.
 */
#include "spf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "dnsmsg.h"
#include "netlist.h"
#include "report.h"
#include "sanitize.h"
#include "text.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define SPF_VALUE_MAX 1024 /* a macro value (sender, helo, names) */
#define SPF_CIDR_DIGITS_MAX 3
#define SPF_DIGITS_CAP 255 /* %{d999}: more parts than any name has */

static const char *const spf_result_names[] = {
    [SPF_NONE] = "none",           [SPF_NEUTRAL] = "neutral",
    [SPF_PASS] = "pass",           [SPF_FAIL] = "fail",
    [SPF_SOFTFAIL] = "softfail",   [SPF_TEMPERROR] = "temperror",
    [SPF_PERMERROR] = "permerror",
};

static const struct spf_mech_name {
	const char *name;
	enum spf_mech mech;
} spf_mech_names[] = {
    {"all", SPF_MECH_ALL}, {"include", SPF_MECH_INCLUDE}, {"a", SPF_MECH_A},
    {"mx", SPF_MECH_MX},   {"ptr", SPF_MECH_PTR},         {"ip4", SPF_MECH_IP4},
    {"ip6", SPF_MECH_IP6}, {"exists", SPF_MECH_EXISTS},
};

static const struct spf_qual {
	char c;
	enum spf_result r;
} spf_quals[] = {
    {'+', SPF_PASS},
    {'-', SPF_FAIL},
    {'~', SPF_SOFTFAIL},
    {'?', SPF_NEUTRAL},
};

const char *
spf_result_name(enum spf_result r)
{
	if ((size_t)r >= NELEM(spf_result_names))
		return "unknown";
	return spf_result_names[r];
}

/* ---- character classes, without locale ---- */

static bool
is_alnum(unsigned char c)
{
	return text_is_alpha(c) || text_is_digit(c);
}

/* ---- addresses ---- */

/* addr_from - netlist's 16-octet form as check_host() sees it. */
static void
addr_from(const struct netlist_entry *e, struct spf_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (netlist_mapped_v4(e->addr)) {
		/* Section 5: an IPv4-mapped IPv6 address is an IPv4 address. */
		memcpy(out->a, e->addr + 12, 4);
		out->family = AF_INET;
	} else {
		memcpy(out->a, e->addr, 16);
		out->family = AF_INET6;
	}
}

int
spf_addr_parse(const char *text, struct spf_addr *out)
{
	struct netlist_entry e;

	memset(out, 0, sizeof(*out));
	if (netlist_addr_parse(text, strlen(text), 0, &e, NULL, 0) != 0)
		return -1;
	addr_from(&e, out);
	return 0;
}

/* addr_host - ip with the bits past bits all cleared or all set. */
static struct spf_addr
addr_host(const struct spf_addr *ip, unsigned bits, bool set)
{
	struct spf_addr out = *ip;
	unsigned octets = ip->family == AF_INET ? 4 : 16, i;

	for (i = 0; i < octets; i++) {
		unsigned keep = bits >= 8 * (i + 1) ? 8
		                : bits > 8 * i      ? bits - 8 * i
		                                    : 0;
		unsigned char host = (unsigned char)(0xffu >> keep);

		out.a[i] = set ? (unsigned char)(ip->a[i] | host)
		               : (unsigned char)(ip->a[i] & ~host);
	}
	return out;
}

int
spf_range_parse(const char *text, struct spf_range *out)
{
	struct netlist_entry e;

	memset(out, 0, sizeof(*out));
	if (netlist_addr_parse(text, strlen(text),
	                       NETLIST_PREFIX | NETLIST_HOST_BITS, &e, NULL,
	                       0) != 0)
		return -1;
	addr_from(&e, &out->net);
	if (out->net.family == AF_INET6) {
		out->bits = e.prefix;
	} else if (e.prefix >= 96) {
		out->bits = e.prefix - 96u;
	} else {
		return -1; /* ::ffff:0:0/90 is no IPv4 range */
	}
	out->net = addr_host(&out->net, out->bits, false);
	return 0;
}

/* addr_match - ip within net/bits (same family; bits within range). */
static bool
addr_match(const struct spf_addr *ip, int family, const unsigned char *net,
           unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (ip->family != family)
		return false;
	if (memcmp(ip->a, net, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((ip->a[full] ^ net[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* ---- macro syntax (section 7.1) ---- */

static bool
is_macro_letter(unsigned char c, bool exp)
{
	c = text_lower(c);
	if (strchr("slodiphv", c) != NULL && c != '\0')
		return true;
	return exp && c != '\0' && strchr("crt", c) != NULL;
}

static bool
is_delimiter(unsigned char c)
{
	return c != '\0' && strchr(".-+,/_=", c) != NULL;
}

/* A parsed %{...}: letter, digits (0: none), reverse, delimiter set. */
struct macro {
	unsigned char letter; /* as written: upper case means URL-escape */
	unsigned digits;
	bool reverse;
	const unsigned char *delims;
	size_t ndelims;
};

/*
 * macro_scan - one %-expression at p[0] == '%'.  Returns its length, or 0
 * on a syntax error.  For %{...} fills *m; for %% %_ %- sets m->letter to
 * the second byte.
 */
static size_t
macro_scan(const unsigned char *p, size_t n, bool exp, struct macro *m)
{
	size_t i = 2;

	memset(m, 0, sizeof(*m));
	if (n < 2)
		return 0;
	if (p[1] == '%' || p[1] == '_' || p[1] == '-') {
		m->letter = p[1];
		return 2;
	}
	if (p[1] != '{' || n < 4 || !is_macro_letter(p[2], exp))
		return 0;
	m->letter = p[2];
	i = 3;
	if (i < n && text_is_digit(p[i])) {
		while (i < n && text_is_digit(p[i])) {
			m->digits = m->digits * 10 + (unsigned)(p[i] - '0');
			if (m->digits > SPF_DIGITS_CAP)
				m->digits = SPF_DIGITS_CAP;
			i++;
		}
		if (m->digits == 0)
			return 0; /* section 7.1: the value MUST be nonzero */
	}
	if (i < n && text_lower(p[i]) == 'r') {
		m->reverse = true;
		i++;
	}
	m->delims = p + i;
	while (i < n && is_delimiter(p[i]))
		i++;
	m->ndelims = (size_t)(p + i - m->delims);
	if (i >= n || p[i] != '}')
		return 0;
	return i + 1;
}

/*
 * macro_string_check - the macro-string (or explanation-string) syntax.
 * *ends_in_macro tells whether the last token is a macro-expand.
 */
static int
macro_string_check(const unsigned char *p, size_t n, bool exp,
                   bool *ends_in_macro)
{
	size_t i = 0, k;
	struct macro m;

	*ends_in_macro = false;
	while (i < n) {
		if (p[i] == '%') {
			if ((k = macro_scan(p + i, n - i, exp, &m)) == 0)
				return -1;
			i += k;
			*ends_in_macro = true;
			continue;
		}
		if (p[i] < 0x21 || p[i] > 0x7e) {
			if (!(exp && p[i] == ' '))
				return -1;
		}
		*ends_in_macro = false;
		i++;
	}
	return 0;
}

/*
 * toplabel_ok - section 7.1: ( *alphanum ALPHA *alphanum ) /
 * ( 1*alphanum "-" *( alphanum / "-" ) alphanum ).
 */
static bool
toplabel_ok(const unsigned char *p, size_t n)
{
	size_t i;
	bool alpha = false, dash = false;

	if (n == 0 || !is_alnum(p[0]) || !is_alnum(p[n - 1]))
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] == '-')
			dash = true;
		else if (text_is_alpha(p[i]))
			alpha = true;
		else if (!text_is_digit(p[i]))
			return false;
	}
	return alpha || dash;
}

/* domain_spec_check - macro-string domain-end (section 7.1). */
static int
domain_spec_check(const unsigned char *p, size_t n, const char **why)
{
	bool macro_end;
	size_t end = n, dot;

	if (n == 0) {
		*why = "an empty domain-spec";
		return -1;
	}
	if (macro_string_check(p, n, false, &macro_end) != 0) {
		*why = "a bad macro";
		return -1;
	}
	if (macro_end)
		return 0;
	if (p[end - 1] == '.')
		end--;
	for (dot = end; dot > 0 && p[dot - 1] != '.'; dot--)
		;
	if (dot == 0 || !toplabel_ok(p + dot, end - dot)) {
		*why = "a domain-spec that does not end in a valid top label";
		return -1;
	}
	return 0;
}

/* ---- record parsing (sections 4.5, 4.6, 5, 6, 12) ---- */

bool
spf_is_record(const unsigned char *buf, size_t len)
{
	static const char v[] = "v=spf1";
	size_t n = sizeof(v) - 1;

	if (len < n || !text_ieq((const char *)buf, n, v))
		return false;
	return len == n || buf[n] == ' ';
}

/* cidr_value - "/" ("0" / %x31-39 *DIGIT) within max; -1 when bad. */
static int
cidr_value(const unsigned char *p, size_t n, unsigned max)
{
	unsigned v = 0;
	size_t i;

	if (n == 0 || n > SPF_CIDR_DIGITS_MAX || (n > 1 && p[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (!text_is_digit(p[i]))
			return -1;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	return v <= max ? (int)v : -1;
}

/* trailing_cidr - length of a "/DIGITS" suffix of p[0..n), 0 if none. */
static size_t
trailing_cidr(const unsigned char *p, size_t n)
{
	size_t i = n;

	while (i > 0 && text_is_digit(p[i - 1]))
		i--;
	if (i == n || i == 0 || p[i - 1] != '/')
		return 0;
	return n - i + 1;
}

/* parse_dual_cidr - strip [ip4-cidr] ["/" ip6-cidr] off the end of *n. */
static int
parse_dual_cidr(const unsigned char *p, size_t *n, struct spf_term *t,
                const char **why)
{
	size_t k = trailing_cidr(p, *n);
	int v;

	t->cidr4 = 32;
	t->cidr6 = 128;
	if (k == 0)
		return 0;
	if (*n > k && p[*n - k - 1] == '/') {
		if ((v = cidr_value(p + *n - k + 1, k - 1, 128)) < 0)
			goto bad;
		t->cidr6 = (uint8_t)v;
		*n -= k + 1;
		k = trailing_cidr(p, *n);
		if (k == 0)
			return 0;
	}
	if ((v = cidr_value(p + *n - k + 1, k - 1, 32)) < 0)
		goto bad;
	t->cidr4 = (uint8_t)v;
	*n -= k;
	return 0;
bad:
	*why = "a bad CIDR length";
	return -1;
}

/* parse_ip_mech - ip4:network[/len] or ip6:network[/len]. */
static int
parse_ip_mech(const unsigned char *p, size_t n, struct spf_term *t,
              const char **why)
{
	const unsigned char *slash;
	struct netlist_entry e;
	size_t netlen;
	unsigned max = t->mech == SPF_MECH_IP4 ? 32 : 128;
	int v = (int)max;

	if (n < 2 || p[0] != ':') {
		*why = "a missing address";
		return -1;
	}
	p++;
	n--;
	slash = memchr(p, '/', n);
	netlen = slash != NULL ? (size_t)(slash - p) : n;
	if (slash != NULL &&
	    (v = cidr_value(slash + 1, n - netlen - 1, max)) < 0) {
		*why = "a bad CIDR length";
		return -1;
	}
	/* ip4: takes a dotted quad (section 5.6), ip6: IPv6 text. */
	if (netlist_addr_parse((const char *)p, netlen, 0, &e, NULL, 0) != 0 ||
	    (bool)e.v4 != (t->mech == SPF_MECH_IP4)) {
		*why = "a bad address";
		return -1;
	}
	if (t->mech == SPF_MECH_IP4) {
		t->net.family = AF_INET;
		t->cidr4 = (uint8_t)v;
		memcpy(t->net.a, e.addr + 12, 4);
	} else {
		t->net.family = AF_INET6;
		t->cidr6 = (uint8_t)v;
		memcpy(t->net.a, e.addr, 16);
	}
	return 0;
}

/* set_arg - record the domain-spec or value span of a term. */
static void
set_arg(struct spf_term *t, const unsigned char *base, const unsigned char *p,
        size_t n)
{
	t->arg_off = (uint16_t)(p - base);
	t->arg_len = (uint16_t)n;
}

/* parse_mech_args - everything after the mechanism name. */
static int
parse_mech_args(const unsigned char *base, const unsigned char *p, size_t n,
                struct spf_term *t, const char **why)
{
	switch (t->mech) {
	case SPF_MECH_ALL:
		if (n == 0)
			return 0;
		*why = "arguments to all";
		return -1;
	case SPF_MECH_IP4:
	case SPF_MECH_IP6:
		return parse_ip_mech(p, n, t, why);
	case SPF_MECH_A:
	case SPF_MECH_MX:
		if (parse_dual_cidr(p, &n, t, why) != 0)
			return -1;
		break;
	default:
		break;
	}
	if (n == 0) {
		if (t->mech == SPF_MECH_INCLUDE || t->mech == SPF_MECH_EXISTS) {
			*why = "a missing domain-spec";
			return -1;
		}
		return 0;
	}
	if (p[0] != ':') {
		*why = "unexpected text after the mechanism name";
		return -1;
	}
	set_arg(t, base, p + 1, n - 1);
	return domain_spec_check(p + 1, n - 1, why);
}

/* parse_modifier - name=value; known names take a domain-spec. */
static int
parse_modifier(const unsigned char *base, const unsigned char *p, size_t n,
               size_t eq, struct spf_term *t, const char **why)
{
	bool dummy;

	set_arg(t, base, p + eq + 1, n - eq - 1);
	if (text_ieq((const char *)p, eq, "redirect"))
		t->mech = SPF_MOD_REDIRECT;
	else if (text_ieq((const char *)p, eq, "exp"))
		t->mech = SPF_MOD_EXP;
	else
		t->mech = SPF_MOD_UNKNOWN;
	if (t->mech != SPF_MOD_UNKNOWN)
		return domain_spec_check(p + eq + 1, n - eq - 1, why);
	if (macro_string_check(p + eq + 1, n - eq - 1, true, &dummy) != 0) {
		*why = "a bad macro";
		return -1;
	}
	return 0;
}

/* parse_term - one term (no spaces inside) into *t. */
static int
parse_term(const unsigned char *base, const unsigned char *p, size_t n,
           struct spf_term *t, const char **why)
{
	size_t i = 0, name, k;

	memset(t, 0, sizeof(*t));
	t->off = (uint16_t)(p - base);
	t->len = (uint16_t)n;
	t->qual = SPF_PASS;
	/* A modifier: name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) "=" */
	if (text_is_alpha(p[0])) {
		for (i = 1; i < n && (is_alnum(p[i]) || p[i] == '-' ||
		                      p[i] == '_' || p[i] == '.');
		     i++)
			;
		if (i < n && p[i] == '=')
			return parse_modifier(base, p, n, i, t, why);
	}
	i = 0;
	for (k = 0; k < NELEM(spf_quals); k++) {
		if (p[0] == spf_quals[k].c) {
			t->qual = spf_quals[k].r;
			i = 1;
		}
	}
	for (name = i; name < n && p[name] != ':' && p[name] != '/'; name++)
		;
	for (k = 0; k < NELEM(spf_mech_names); k++) {
		if (text_ieq((const char *)p + i, name - i,
		             spf_mech_names[k].name)) {
			t->mech = spf_mech_names[k].mech;
			return parse_mech_args(base, p + name, n - name, t,
			                       why);
		}
	}
	*why = "an unknown mechanism";
	return -1;
}

/* record_note - count DNS terms and remember modifiers; -1 on a repeat. */
static int
record_note(struct spf_record *r, const struct spf_term *t, const char **why)
{
	int idx = (int)r->nterms;

	switch (t->mech) {
	case SPF_MOD_REDIRECT:
	case SPF_MOD_EXP: {
		int *slot =
		    t->mech == SPF_MOD_REDIRECT ? &r->redirect : &r->exp;

		if (*slot >= 0) {
			*why = "a modifier given twice";
			return -1;
		}
		*slot = idx;
		break;
	}
	case SPF_MECH_ALL:
		if (r->all < 0)
			r->all = idx;
		break;
	case SPF_MECH_INCLUDE:
	case SPF_MECH_A:
	case SPF_MECH_MX:
	case SPF_MECH_PTR:
	case SPF_MECH_EXISTS:
		r->dns_terms++;
		break;
	default:
		break;
	}
	return 0;
}

int
spf_parse(const unsigned char *buf, size_t len, struct spf_record *out,
          char *err, size_t errlen)
{
	size_t i, start;
	const char *why = NULL;
	char q[SPF_TERM_TEXT_MAX];

	memset(out, 0, sizeof(*out));
	out->redirect = out->exp = out->all = -1;
	if (!spf_is_record(buf, len)) {
		snprintf(err, errlen, "the record does not start with v=spf1");
		return -1;
	}
	if (len > SPF_RECORD_MAX) {
		snprintf(err, errlen, "the record is %zu bytes, over %d", len,
		         SPF_RECORD_MAX);
		return -1;
	}
	for (i = 6; i < len;) {
		if (buf[i] == ' ') {
			i++;
			continue;
		}
		for (start = i; i < len && buf[i] != ' '; i++) {
			if (buf[i] < 0x21 || buf[i] > 0x7e) {
				snprintf(
				    err, errlen,
				    "the term \"%s\" has a byte that is not "
				    "printable ASCII",
				    text_quote(q, sizeof(q),
				               (const char *)buf + start,
				               i - start + 1));
				return -1;
			}
		}
		if (out->nterms >= SPF_TERMS_MAX) {
			snprintf(err, errlen, "the record has over %d terms",
			         SPF_TERMS_MAX);
			return -1;
		}
		if (parse_term(buf, buf + start, i - start,
		               &out->terms[out->nterms], &why) != 0 ||
		    record_note(out, &out->terms[out->nterms], &why) != 0) {
			snprintf(err, errlen, "the term \"%s\" has %s",
			         text_quote(q, sizeof(q),
			                    (const char *)buf + start,
			                    i - start),
			         why);
			return -1;
		}
		out->nterms++;
	}
	if (out->redirect >= 0 && out->all < 0)
		out->dns_terms++;
	return 0;
}

/* ---- macro expansion (section 7) ---- */

/* An output buffer that records, but never exceeds, its bound. */
struct outbuf {
	char *p;
	size_t cap, n;
	bool over;
};

static void
out_byte(struct outbuf *o, unsigned char c)
{
	if (o->n + 1 < o->cap)
		o->p[o->n++] = (char)c;
	else
		o->over = true;
}

/* out_value - a value, URL-escaped when the letter was upper case. */
static void
out_value(struct outbuf *o, const char *v, size_t n, bool escape)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (!escape || is_alnum(c) || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			out_byte(o, c);
			continue;
		}
		out_byte(o, '%');
		out_byte(o, (unsigned char)hex[c >> 4]);
		out_byte(o, (unsigned char)hex[c & 15]);
	}
}

/* addr_text - %{c}: dotted quad, or RFC 5952 text for IPv6. */
static void
addr_text(const struct spf_addr *ip, char *buf, size_t len)
{
	if (inet_ntop(ip->family, ip->a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "unknown");
}

/* addr_dotted - %{i}: dotted quad, or 32 dotted nibbles for IPv6. */
static void
addr_dotted(const struct spf_addr *ip, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, k = 0;

	if (ip->family == AF_INET) {
		snprintf(buf, len, "%u.%u.%u.%u", ip->a[0], ip->a[1], ip->a[2],
		         ip->a[3]);
		return;
	}
	for (i = 0; i < 32 && k + 2 < len; i++) {
		unsigned char b = ip->a[i / 2];

		if (i > 0)
			buf[k++] = '.';
		buf[k++] = hex[i % 2 == 0 ? b >> 4 : b & 15];
	}
	buf[k] = '\0';
}

/* macro_value - the raw value of a letter into buf; NULL: need p. */
static const char *
macro_value(const struct spf_macro_ctx *ctx, unsigned char letter, char *buf,
            size_t len)
{
	switch (text_lower(letter)) {
	case 's':
		return ctx->sender;
	case 'l':
		return ctx->local;
	case 'o':
		return ctx->sender_domain;
	case 'd':
		return ctx->domain;
	case 'h':
		return ctx->helo;
	case 'p':
		return ctx->p;
	case 'r':
		return ctx->receiver != NULL ? ctx->receiver : "unknown";
	case 'v':
		return ctx->ip.family == AF_INET ? "in-addr" : "ip6";
	case 'i':
		addr_dotted(&ctx->ip, buf, len);
		return buf;
	case 'c':
		addr_text(&ctx->ip, buf, len);
		return buf;
	case 't':
		snprintf(buf, len, "%lld", (long long)ctx->now);
		return buf;
	}
	return "";
}

/* in_delims - c is one of the macro's delimiters (default "."). */
static bool
in_delims(const struct macro *m, char c)
{
	if (m->ndelims == 0)
		return c == '.';
	return memchr(m->delims, c, m->ndelims) != NULL;
}

/*
 * out_transformed - split v on the delimiters, optionally reverse, keep
 * the rightmost digits parts, join with '.' (section 7.3).
 */
static void
out_transformed(struct outbuf *o, const struct macro *m, const char *v)
{
	uint16_t start[SPF_VALUE_MAX + 1], end[SPF_VALUE_MAX + 1];
	size_t n = strnlen(v, SPF_VALUE_MAX), nparts = 0, i, first, k;
	bool escape = m->letter >= 'A' && m->letter <= 'Z';

	if (m->digits == 0 && !m->reverse && m->ndelims == 0) {
		out_value(o, v, n, escape);
		return;
	}
	start[0] = 0;
	for (i = 0; i <= n; i++) {
		if (i == n || in_delims(m, v[i])) {
			end[nparts++] = (uint16_t)i;
			start[nparts] = (uint16_t)(i + 1);
		}
	}
	k = m->digits != 0 && m->digits < nparts ? m->digits : nparts;
	first = nparts - k;
	for (i = 0; i < k; i++) {
		/* Rightmost k of the (maybe reversed) list, in order. */
		size_t idx = m->reverse ? k - 1 - i : first + i;

		if (i > 0)
			out_byte(o, '.');
		out_value(o, v + start[idx], end[idx] - start[idx], escape);
	}
}

int
spf_macro_expand(const char *in, size_t inlen, const struct spf_macro_ctx *ctx,
                 bool exp, char *out, size_t outlen, bool *truncated, char *err,
                 size_t errlen)
{
	const unsigned char *p = (const unsigned char *)in;
	struct outbuf o = {out, outlen, 0, false};
	char buf[SPF_VALUE_MAX];
	struct macro m;
	size_t i = 0, k;

	if (truncated != NULL)
		*truncated = false;
	while (i < inlen) {
		if (p[i] != '%') {
			if ((p[i] < 0x21 || p[i] > 0x7e) &&
			    !(exp && p[i] == ' '))
				goto bad;
			out_byte(&o, p[i++]);
			continue;
		}
		if ((k = macro_scan(p + i, inlen - i, exp, &m)) == 0)
			goto bad;
		i += k;
		if (m.letter == '%' || m.letter == '_' || m.letter == '-') {
			out_value(&o,
			          m.letter == '%'   ? "%"
			          : m.letter == '_' ? " "
			                            : "%20",
			          m.letter == '-' ? 3 : 1, false);
			continue;
		}
		const char *v = macro_value(ctx, m.letter, buf, sizeof(buf));

		if (v == NULL) {
			if (outlen > 0)
				out[0] = '\0';
			return SPF_MACRO_NEED_P;
		}
		out_transformed(&o, &m, v);
	}
	if (outlen > 0)
		out[o.n] = '\0';
	if (o.over) {
		if (truncated != NULL)
			*truncated = true;
		snprintf(err, errlen, "the macro expansion is over %zu bytes",
		         outlen - 1);
		return -1;
	}
	return 0;
bad:
	if (outlen > 0)
		out[0] = '\0';
	snprintf(err, errlen, "bad macro syntax at byte %zu", i + 1);
	return -1;
}

int
spf_target_name(char *name)
{
	size_t n = strlen(name), i, label = 0;
	char *dot;

	if (n > 0 && name[n - 1] == '.')
		name[--n] = '\0';
	while (n > DOMAIN_MAX) {
		if ((dot = strchr(name, '.')) == NULL)
			return -1;
		n -= (size_t)(dot + 1 - name);
		memmove(name, dot + 1, n + 1);
	}
	if (n == 0)
		return -1;
	for (i = 0; i <= n; i++) {
		if (i == n || name[i] == '.') {
			if (label == 0 || label > LABEL_MAX)
				return -1;
			label = 0;
		} else {
			label++;
		}
	}
	return 0;
}

/* ---- check_host(): the evaluation state machine (sections 4, 5, 6) ---- */

enum spf_step {
	STEP_RECORD,   /* TXT of the current frame's domain */
	STEP_A,        /* a: A or AAAA of the target */
	STEP_EXISTS,   /* exists: A of the target */
	STEP_MX,       /* mx: MX of the target */
	STEP_MX_ADDR,  /* mx: addresses of the exchanges, fanned out */
	STEP_PTR,      /* ptr: PTR of the client address */
	STEP_PTR_ADDR, /* ptr: addresses of the PTR names, fanned out */
	STEP_P_PTR,    /* %{p}: as ptr, for the macro */
	STEP_P_ADDR,
	STEP_EXP, /* exp: TXT of the explanation name */
};

enum spf_resume {
	RESUME_RUN, /* re-enter the term (or redirect) at frame->next */
	RESUME_EXP, /* expand the exp= name again */
};

struct spf_frame {
	char domain[DOMAIN_BUF];
	bool via_redirect; /* none here is permerror (section 6.1) */
	bool counted;      /* term at next already counted (p retry) */
	size_t next;       /* next term to evaluate */
	size_t reclen;
	unsigned char rec[SPF_RECORD_MAX];
	struct spf_record r;
};

struct spf_qctx {
	struct spf_eval *ev;
	size_t slot;
};

struct spf_eval {
	struct resolver res;
	struct spf_outcome *out;
	spf_done_cb done;
	void *arg;
	bool sync; /* inside spf_check_host(): done is not called */
	bool finished;
	size_t outstanding;
	struct timespec deadline;
	unsigned terms, voids;
	enum spf_step step;
	enum spf_resume resume;
	/* macro context */
	char sender[SPF_SENDER_MAX], local[SPF_SENDER_MAX];
	char sender_domain[SPF_SENDER_MAX];
	char helo[SPF_VALUE_MAX], receiver[DOMAIN_BUF];
	struct spf_addr ip;
	time_t now;
	/* the fan-out of mx and ptr */
	char names[SPF_NAMES_MAX][DOMAIN_BUF];
	bool hit[SPF_NAMES_MAX];
	size_t nnames;
	bool batch_temp;
	struct spf_qctx q[SPF_NAMES_MAX + 1];
	char target[SPF_EXPAND_MAX];
	/* %{p}: validated names, once looked up */
	bool p_known;
	char pnames[SPF_NAMES_MAX][DOMAIN_BUF];
	size_t npnames;
	/* the decision while exp is looked up */
	enum spf_result final;
	size_t depth;
	struct spf_frame *frames; /* SPF_DEPTH_MAX */
};

static void eval_run(struct spf_eval *ev);
static void eval_answer(void *arg, const struct dns_answer *ans);

static struct spf_frame *
top(struct spf_eval *ev)
{
	return &ev->frames[ev->depth - 1];
}

/* term_text - the term at i of frame f, sanitized, for messages. */
static const char *
term_text(const struct spf_frame *f, const struct spf_term *t, char *buf,
          size_t len)
{
	return text_quote(buf, len, (const char *)f->rec + t->off, t->len);
}

/* eval_finish - the one place a result is delivered. */
static void eval_finish(struct spf_eval *ev, enum spf_result r, const char *fmt,
                        ...) __attribute__((format(printf, 3, 4)));

/* eval_deliver - set the result, keep the reason, call back once. */
static void
eval_deliver(struct spf_eval *ev, enum spf_result r)
{
	if (ev->finished)
		return;
	ev->finished = true;
	ev->out->result = r;
	ev->out->dns_terms = ev->terms;
	ev->out->void_lookups = ev->voids;
	if (r != SPF_FAIL)
		ev->out->explanation[0] = '\0';
	if (!ev->sync)
		ev->done(ev->arg, ev->out);
}

static void
eval_finish(struct spf_eval *ev, enum spf_result r, const char *fmt, ...)
{
	va_list ap;

	if (ev->finished)
		return;
	va_start(ap, fmt);
	vsnprintf(ev->out->reason, sizeof(ev->out->reason), fmt, ap);
	va_end(ap);
	eval_deliver(ev, r);
}

/* eval_query - queue one lookup for slot, ended by the overall deadline
 * when the resolver can do that; -1 when refused. */
static int
eval_query(struct spf_eval *ev, const char *name, uint16_t qtype, size_t slot)
{
	/* rounded up: the time-out comes when deadline_passed() says so */
	uint64_t by = (uint64_t)ev->deadline.tv_sec * 1000u +
	              ((uint64_t)ev->deadline.tv_nsec + 999999u) / 1000000u;
	int rc;

	ev->q[slot].ev = ev;
	ev->q[slot].slot = slot;
	ev->outstanding++;
	if (ev->res.query_by != NULL)
		rc = ev->res.query_by(ev->res.impl, name, qtype, by,
		                      eval_answer, &ev->q[slot]);
	else
		rc = ev->res.query(ev->res.impl, name, qtype, eval_answer,
		                   &ev->q[slot]);
	if (rc == 0)
		return 0;
	ev->outstanding--;
	return -1;
}

/* eval_query1 - a single lookup; refusal ends the evaluation. */
static void
eval_query1(struct spf_eval *ev, const char *name, uint16_t qtype,
            enum spf_step step)
{
	ev->step = step;
	if (eval_query(ev, name, qtype, SPF_NAMES_MAX) != 0)
		eval_finish(ev, SPF_TEMPERROR,
		            "The DNS lookup of %s could not be started.", name);
}

/* answer_class - OK, void (NXDOMAIN, NODATA), temporary, or other. */
enum answer_class { ANS_OK, ANS_VOID, ANS_TEMP };

static enum answer_class
answer_class(const struct dns_answer *ans)
{
	switch (ans->outcome) {
	case DNS_OK:
		return ans->count > 0 ? ANS_OK : ANS_VOID;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		return ANS_VOID;
	default:
		/* CNAME loops and over-long chains included: a resolver
		 * reports those as SERVFAIL, so they are DNS trouble
		 * (temperror), never "no record" (RFC 7208 section 4.4). */
		return ANS_TEMP;
	}
}

/* count_void - section 4.6.4; true when the limit ended the evaluation. */
static bool
count_void(struct spf_eval *ev, const char *name)
{
	if (++ev->voids <= SPF_VOID_MAX)
		return false;
	eval_finish(ev, SPF_PERMERROR,
	            "More than %d void DNS lookups (the last for %s).",
	            SPF_VOID_MAX, name);
	return true;
}

/* choose_p - section 7.3: domain itself, else a subdomain, else any. */
static const char *
choose_p(const struct spf_eval *ev, const char *domain)
{
	size_t i;

	if (!ev->p_known)
		return NULL;
	for (i = 0; i < ev->npnames; i++)
		if (dnsmsg_name_equal(ev->pnames[i], domain))
			return ev->pnames[i];
	for (i = 0; i < ev->npnames; i++)
		if (domain_is_below(ev->pnames[i], domain))
			return ev->pnames[i];
	return ev->npnames > 0 ? ev->pnames[0] : "unknown";
}

static void
macro_ctx(const struct spf_eval *ev, const char *domain,
          struct spf_macro_ctx *ctx)
{
	ctx->sender = ev->sender;
	ctx->local = ev->local;
	ctx->sender_domain = ev->sender_domain;
	ctx->domain = domain;
	ctx->helo = ev->helo;
	ctx->p = choose_p(ev, domain);
	ctx->receiver = ev->receiver[0] != '\0' ? ev->receiver : NULL;
	ctx->now = ev->now;
	ctx->ip = ev->ip;
}

/* reverse_name - the in-addr.arpa or ip6.arpa name of the client. */
static void
reverse_name(const struct spf_addr *ip, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, k = 0;

	if (ip->family == AF_INET) {
		snprintf(buf, len, "%u.%u.%u.%u.in-addr.arpa", ip->a[3],
		         ip->a[2], ip->a[1], ip->a[0]);
		return;
	}
	for (i = 32; i > 0 && k + 2 < len; i--) {
		unsigned char b = ip->a[(i - 1) / 2];

		buf[k++] = hex[(i - 1) % 2 == 0 ? b >> 4 : b & 15];
		buf[k++] = '.';
	}
	snprintf(buf + k, len - k, "ip6.arpa");
}

/* start_p - look up the validated names for %{p}, then resume. */
static void
start_p(struct spf_eval *ev, enum spf_resume resume)
{
	char rev[DNS_NAME_TEXT_MAX];

	ev->resume = resume;
	reverse_name(&ev->ip, rev, sizeof(rev));
	eval_query1(ev, rev, DNS_TYPE_PTR, STEP_P_PTR);
}

/*
 * expand_target - expand a domain-spec into ev->target.  0 ok; 1 when
 * the p lookup was started; -1 when the name cannot be queried; -2 when
 * the evaluation ended.
 */
static int
expand_target(struct spf_eval *ev, const struct spf_frame *f,
              const struct spf_term *t, enum spf_resume resume)
{
	struct spf_macro_ctx ctx;
	char err[128];
	int rc;

	if (t->arg_len == 0) {
		snprintf(ev->target, sizeof(ev->target), "%s", f->domain);
		return 0;
	}
	macro_ctx(ev, f->domain, &ctx);
	rc = spf_macro_expand((const char *)f->rec + t->arg_off, t->arg_len,
	                      &ctx, false, ev->target, sizeof(ev->target), NULL,
	                      err, sizeof(err));
	if (rc == SPF_MACRO_NEED_P) {
		start_p(ev, resume);
		return 1;
	}
	if (rc != 0) {
		eval_finish(ev, SPF_PERMERROR, "In the SPF record of %s: %s.",
		            f->domain, err);
		return -2;
	}
	return spf_target_name(ev->target) == 0 ? 0 : -1;
}

/* mech_next - the current mechanism did not match: go on. */
static void
mech_next(struct spf_eval *ev)
{
	struct spf_frame *f = top(ev);

	f->next++;
	f->counted = false;
	eval_run(ev);
}

static void frame_result(struct spf_eval *ev, enum spf_result r,
                         const struct spf_term *t);

/* mech_match - the current mechanism matched: its qualifier decides. */
static void
mech_match(struct spf_eval *ev)
{
	struct spf_frame *f = top(ev);

	frame_result(ev, f->r.terms[f->next].qual, &f->r.terms[f->next]);
}

/* start_exp - section 6.2: fetch the explanation for a fail. */
static void
start_exp(struct spf_eval *ev)
{
	struct spf_frame *f = top(ev);
	int rc = expand_target(ev, f, &f->r.terms[f->r.exp], RESUME_EXP);

	if (rc == 1 || rc == -2)
		return;
	if (rc == -1) {
		eval_deliver(ev, SPF_FAIL);
		return;
	}
	ev->step = STEP_EXP;
	if (eval_query(ev, ev->target, DNS_TYPE_TXT, SPF_NAMES_MAX) != 0)
		eval_deliver(ev, SPF_FAIL);
}

/*
 * frame_result - the current record gave r (t: the term that decided,
 * NULL for the default).  Section 5.2 maps an include's result.
 */
static void
frame_result(struct spf_eval *ev, enum spf_result r, const struct spf_term *t)
{
	struct spf_frame *f = top(ev);

	if (r == SPF_NONE && (ev->depth > 1 || f->via_redirect)) {
		eval_finish(ev, SPF_PERMERROR,
		            "%s has no SPF record, but is the target of %s.",
		            f->domain,
		            ev->depth > 1 ? "an include" : "a redirect");
		return;
	}
	if (r == SPF_TEMPERROR || r == SPF_PERMERROR) {
		eval_deliver(ev, r);
		return;
	}
	if (ev->depth > 1) {
		ev->depth--;
		if (r == SPF_PASS)
			mech_match(ev);
		else
			mech_next(ev);
		return;
	}
	if (t != NULL) {
		term_text(f, t, ev->out->mechanism, sizeof(ev->out->mechanism));
		snprintf(ev->out->reason, sizeof(ev->out->reason),
		         "The mechanism %s matched in the SPF record of %s.",
		         ev->out->mechanism, f->domain);
	} else if (r == SPF_NONE) {
		snprintf(ev->out->reason, sizeof(ev->out->reason),
		         "%s publishes no SPF record.", f->domain);
	} else {
		snprintf(ev->out->reason, sizeof(ev->out->reason),
		         "No mechanism matched in the SPF record of %s, so the "
		         "result is the default, neutral.",
		         f->domain);
	}
	ev->final = r;
	if (r == SPF_FAIL && f->r.exp >= 0) {
		start_exp(ev);
		return;
	}
	eval_deliver(ev, r);
}

/* frame_load - fetch the record of domain into the top frame. */
static void
frame_load(struct spf_eval *ev, const char *domain, bool via_redirect)
{
	struct spf_frame *f = top(ev);

	size_t n = strnlen(domain, DOMAIN_MAX); /* spf_target_name() bound */

	memcpy(f->domain, domain, n);
	f->domain[n] = '\0';
	f->via_redirect = via_redirect;
	f->counted = false;
	f->next = 0;
	f->reclen = 0;
	eval_query1(ev, f->domain, DNS_TYPE_TXT, STEP_RECORD);
}

/* count_term - section 4.6.4; false when the limit ended evaluation. */
static bool
count_term(struct spf_eval *ev, struct spf_frame *f, const char *what)
{
	if (f->counted)
		return true;
	f->counted = true;
	if (++ev->terms <= SPF_DNS_TERMS_MAX)
		return true;
	eval_finish(
	    ev, SPF_PERMERROR,
	    "More than %d DNS-querying terms; the limit was hit at %s in the "
	    "SPF record of %s.",
	    SPF_DNS_TERMS_MAX, what, f->domain);
	return false;
}

/* end_of_record - no mechanism matched: redirect, or neutral (6.1). */
static void
end_of_record(struct spf_eval *ev)
{
	struct spf_frame *f = top(ev);
	int rc;

	if (f->r.redirect < 0 || f->r.all >= 0) {
		frame_result(ev, SPF_NEUTRAL, NULL);
		return;
	}
	if (!count_term(ev, f, "redirect"))
		return;
	rc = expand_target(ev, f, &f->r.terms[f->r.redirect], RESUME_RUN);
	if (rc == 1 || rc == -2)
		return;
	if (rc == -1) {
		eval_finish(
		    ev, SPF_PERMERROR,
		    "The redirect in the SPF record of %s names no valid "
		    "domain.",
		    f->domain);
		return;
	}
	frame_load(ev, ev->target, true);
}

/* start_dns_mech - a, mx, ptr, exists or include at frame->next. */
static void
start_dns_mech(struct spf_eval *ev, struct spf_frame *f,
               const struct spf_term *t)
{
	char q[SPF_TERM_TEXT_MAX], rev[DNS_NAME_TEXT_MAX];
	int rc;

	if (!count_term(ev, f, term_text(f, t, q, sizeof(q))))
		return;
	rc = expand_target(ev, f, t, RESUME_RUN);
	if (rc == 1 || rc == -2)
		return;
	if (rc == -1) {
		/* Section 4.8: a name that cannot exist does not match. */
		if (t->mech == SPF_MECH_INCLUDE) {
			eval_finish(
			    ev, SPF_PERMERROR,
			    "%s in the SPF record of %s names no valid domain.",
			    q, f->domain);
			return;
		}
		mech_next(ev);
		return;
	}
	switch (t->mech) {
	case SPF_MECH_A:
		eval_query1(ev, ev->target,
		            ev->ip.family == AF_INET ? DNS_TYPE_A
		                                     : DNS_TYPE_AAAA,
		            STEP_A);
		break;
	case SPF_MECH_EXISTS:
		eval_query1(ev, ev->target, DNS_TYPE_A, STEP_EXISTS);
		break;
	case SPF_MECH_MX:
		eval_query1(ev, ev->target, DNS_TYPE_MX, STEP_MX);
		break;
	case SPF_MECH_PTR:
		reverse_name(&ev->ip, rev, sizeof(rev));
		eval_query1(ev, rev, DNS_TYPE_PTR, STEP_PTR);
		break;
	case SPF_MECH_INCLUDE:
		if (ev->depth >= SPF_DEPTH_MAX) {
			eval_finish(ev, SPF_PERMERROR,
			            "Includes nest too deep.");
			return;
		}
		ev->depth++;
		frame_load(ev, ev->target, false);
		break;
	default:
		break;
	}
}

/* eval_run - evaluate terms of the top frame until one needs DNS. */
static void
eval_run(struct spf_eval *ev)
{
	for (;;) {
		struct spf_frame *f = top(ev);
		const struct spf_term *t;

		if (ev->finished)
			return;
		if (f->next >= f->r.nterms) {
			end_of_record(ev);
			return;
		}
		t = &f->r.terms[f->next];
		switch (t->mech) {
		case SPF_MECH_ALL:
			mech_match(ev);
			return;
		case SPF_MECH_IP4:
			if (addr_match(&ev->ip, AF_INET, t->net.a, t->cidr4)) {
				mech_match(ev);
				return;
			}
			break;
		case SPF_MECH_IP6:
			if (addr_match(&ev->ip, AF_INET6, t->net.a, t->cidr6)) {
				mech_match(ev);
				return;
			}
			break;
		case SPF_MOD_REDIRECT:
		case SPF_MOD_EXP:
		case SPF_MOD_UNKNOWN:
			break;
		default:
			start_dns_mech(ev, f, t);
			return;
		}
		f->next++;
	}
}

/* select_record - section 4.5: the one v=spf1 TXT record, or why not. */
static int
select_record(const struct dns_answer *ans, size_t *index)
{
	size_t i, n = 0;

	for (i = 0; i < ans->count; i++) {
		if (ans->rrs[i].type == DNS_TYPE_TXT &&
		    spf_is_record(ans->rrs[i].data, ans->rrs[i].len)) {
			*index = i;
			n++;
		}
	}
	return (int)n;
}

/* on_record - the TXT answer for the top frame's domain. */
static void
on_record(struct spf_eval *ev, const struct dns_answer *ans)
{
	struct spf_frame *f = top(ev);
	enum answer_class c = answer_class(ans);
	char err[SPF_REASON_MAX - 64];
	size_t idx = 0;
	int n;

	if (c == ANS_TEMP) {
		eval_finish(
		    ev, SPF_TEMPERROR,
		    "The DNS lookup of the SPF record of %s failed (%s).",
		    f->domain, dns_outcome_name(ans->outcome));
		return;
	}
	n = c == ANS_OK ? select_record(ans, &idx) : 0;
	if (n == 0) {
		frame_result(ev, SPF_NONE, NULL);
		return;
	}
	if (n > 1) {
		eval_finish(
		    ev, SPF_PERMERROR,
		    "%s publishes %d SPF records; exactly one is allowed.",
		    f->domain, n);
		return;
	}
	if (spf_parse(ans->rrs[idx].data, ans->rrs[idx].len, &f->r, err,
	              sizeof(err)) != 0) {
		eval_finish(ev, SPF_PERMERROR, "In the SPF record of %s, %s.",
		            f->domain, err);
		return;
	}
	memcpy(f->rec, ans->rrs[idx].data, ans->rrs[idx].len);
	f->reclen = ans->rrs[idx].len;
	eval_run(ev);
}

/* rr_matches - an A or AAAA record within the term's CIDR length. */
static bool
rr_matches(const struct spf_eval *ev, const struct dns_rr *rr,
           const struct spf_term *t)
{
	if (rr->type == DNS_TYPE_A && rr->len == 4)
		return addr_match(&ev->ip, AF_INET, rr->data, t->cidr4);
	if (rr->type == DNS_TYPE_AAAA && rr->len == 16)
		return addr_match(&ev->ip, AF_INET6, rr->data, t->cidr6);
	return false;
}

/* addr_answer - a, exists: match, next, or end on an error. */
static void
addr_answer(struct spf_eval *ev, const struct dns_answer *ans, bool exists)
{
	struct spf_frame *f = top(ev);
	const struct spf_term *t = &f->r.terms[f->next];
	size_t i;

	switch (answer_class(ans)) {
	case ANS_TEMP:
		eval_finish(ev, SPF_TEMPERROR,
		            "The DNS lookup of %s failed (%s).", ans->qname,
		            dns_outcome_name(ans->outcome));
		return;
	case ANS_VOID:
		if (count_void(ev, ans->qname))
			return;
		break;
	case ANS_OK:
		for (i = 0; i < ans->count; i++) {
			if (exists ? ans->rrs[i].type == DNS_TYPE_A
			           : rr_matches(ev, &ans->rrs[i], t)) {
				mech_match(ev);
				return;
			}
		}
		break;
	}
	mech_next(ev);
}

/* fan_out - address lookups of ev->names; batch_done when none queued. */
static void fan_done(struct spf_eval *ev);

static void
fan_out(struct spf_eval *ev, enum spf_step step)
{
	uint16_t qtype = ev->ip.family == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA;
	size_t i;

	ev->step = step;
	ev->batch_temp = false;
	for (i = 0; i < ev->nnames; i++) {
		ev->hit[i] = false;
		if (eval_query(ev, ev->names[i], qtype, i) != 0)
			ev->batch_temp = true;
	}
	if (ev->outstanding == 0)
		fan_done(ev);
}

/* collect_names - names of MX or PTR records, at most SPF_NAMES_MAX. */
static void
collect_names(struct spf_eval *ev, const struct dns_answer *ans, uint16_t type)
{
	size_t i;

	ev->nnames = 0;
	for (i = 0; i < ans->count && ev->nnames < SPF_NAMES_MAX; i++) {
		const struct dns_rr *rr = &ans->rrs[i];

		if (rr->type != type || rr->len == 0 || rr->len >= DOMAIN_BUF ||
		    (rr->len == 1 && rr->data[0] == '.'))
			continue;
		memcpy(ev->names[ev->nnames], rr->data, rr->len);
		ev->names[ev->nnames][rr->len] = '\0';
		ev->nnames++;
	}
}

/* on_mx - section 5.4: more than 10 MX names is permerror. */
static void
on_mx(struct spf_eval *ev, const struct dns_answer *ans)
{
	size_t i, n = 0;

	switch (answer_class(ans)) {
	case ANS_TEMP:
		eval_finish(ev, SPF_TEMPERROR,
		            "The MX lookup of %s failed (%s).", ans->qname,
		            dns_outcome_name(ans->outcome));
		return;
	case ANS_VOID:
		if (!count_void(ev, ans->qname))
			mech_next(ev);
		return;
	case ANS_OK:
		break;
	}
	for (i = 0; i < ans->count; i++)
		n += ans->rrs[i].type == DNS_TYPE_MX;
	if (n > SPF_NAMES_MAX) {
		eval_finish(
		    ev, SPF_PERMERROR,
		    "%s has %zu MX records; the mx mechanism allows %d.",
		    ans->qname, n, SPF_NAMES_MAX);
		return;
	}
	collect_names(ev, ans, DNS_TYPE_MX);
	fan_out(ev, STEP_MX_ADDR);
}

/* on_ptr - sections 5.5 and 7.3: errors mean no names, never temperror. */
static void
on_ptr(struct spf_eval *ev, const struct dns_answer *ans, bool for_p)
{
	enum answer_class c = answer_class(ans);

	ev->nnames = 0;
	if (c == ANS_VOID && !for_p && count_void(ev, ans->qname))
		return;
	if (c == ANS_OK)
		collect_names(ev, ans, DNS_TYPE_PTR);
	fan_out(ev, for_p ? STEP_P_ADDR : STEP_PTR_ADDR);
}

/* ptr_done - match when a validated name is the target or below it. */
static void
ptr_done(struct spf_eval *ev)
{
	size_t i;

	for (i = 0; i < ev->nnames; i++) {
		if (ev->hit[i] &&
		    (dnsmsg_name_equal(ev->names[i], ev->target) ||
		     domain_is_below(ev->names[i], ev->target))) {
			mech_match(ev);
			return;
		}
	}
	mech_next(ev);
}

/* p_done - keep the validated names, then resume what needed %{p}. */
static void
p_done(struct spf_eval *ev)
{
	size_t i;

	ev->npnames = 0;
	for (i = 0; i < ev->nnames; i++)
		if (ev->hit[i])
			memcpy(ev->pnames[ev->npnames++], ev->names[i],
			       DOMAIN_BUF);
	ev->p_known = true;
	if (ev->resume == RESUME_EXP)
		start_exp(ev);
	else
		eval_run(ev);
}

static void
fan_done(struct spf_eval *ev)
{
	size_t i;

	switch (ev->step) {
	case STEP_MX_ADDR:
		for (i = 0; i < ev->nnames; i++) {
			if (ev->hit[i]) {
				mech_match(ev);
				return;
			}
		}
		if (ev->batch_temp) {
			eval_finish(
			    ev, SPF_TEMPERROR,
			    "An address lookup of an MX host of %s failed.",
			    ev->target);
			return;
		}
		mech_next(ev);
		break;
	case STEP_PTR_ADDR:
		ptr_done(ev);
		break;
	default:
		p_done(ev);
		break;
	}
}

/* on_fan_answer - one address answer of the fan-out. */
static void
on_fan_answer(struct spf_eval *ev, size_t slot, const struct dns_answer *ans)
{
	enum answer_class c = answer_class(ans);
	size_t i;

	if (c == ANS_TEMP)
		ev->batch_temp = true;
	for (i = 0; c == ANS_OK && i < ans->count; i++) {
		const struct dns_rr *rr = &ans->rrs[i];

		if (ev->step == STEP_MX_ADDR) {
			const struct spf_frame *f = top(ev);

			if (rr_matches(ev, rr, &f->r.terms[f->next]))
				ev->hit[slot] = true;
		} else if ((rr->type == DNS_TYPE_A ||
		            rr->type == DNS_TYPE_AAAA) &&
		           addr_match(&ev->ip,
		                      rr->len == 4 ? AF_INET : AF_INET6,
		                      rr->data, rr->len == 4 ? 32 : 128)) {
			ev->hit[slot] = true;
		}
	}
	if (ev->outstanding == 0)
		fan_done(ev);
}

/* on_exp - section 6.2: exactly one TXT record, valid macro text. */
static void
on_exp(struct spf_eval *ev, const struct dns_answer *ans)
{
	struct spf_frame *f = top(ev);
	struct spf_macro_ctx ctx;
	char err[128], text[SPF_EXPLANATION_MAX];
	bool cut;
	int rc;

	if (ans->outcome != DNS_OK || ans->count != 1 ||
	    ans->rrs[0].type != DNS_TYPE_TXT) {
		eval_deliver(ev, SPF_FAIL);
		return;
	}
	macro_ctx(ev, f->domain, &ctx);
	rc = spf_macro_expand((const char *)ans->rrs[0].data, ans->rrs[0].len,
	                      &ctx, true, text, sizeof(text), &cut, err,
	                      sizeof(err));
	if (rc == SPF_MACRO_NEED_P) {
		start_p(ev, RESUME_EXP);
		return;
	}
	/* %{s} and friends bring back the sender's bytes: escape them (the
	 * record's own bytes are escaped already, and stay as they are). */
	if (rc == 0 || cut)
		sanitize_again(ev->out->explanation,
		               sizeof(ev->out->explanation),
		               (const unsigned char *)text, strlen(text));
	eval_deliver(ev, SPF_FAIL);
}

/* deadline_passed - section 4.6.4: the overall time limit. */
static bool
deadline_passed(const struct spf_eval *ev)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > ev->deadline.tv_sec ||
	       (now.tv_sec == ev->deadline.tv_sec &&
	        now.tv_nsec >= ev->deadline.tv_nsec);
}

/* eval_answer - every resolver callback of an evaluation comes here. */
static void
eval_answer(void *arg, const struct dns_answer *ans)
{
	struct spf_qctx *q = arg;
	struct spf_eval *ev = q->ev;

	ev->outstanding--;
	if (!ev->finished && deadline_passed(ev))
		eval_finish(
		    ev, SPF_TEMPERROR,
		    "The SPF evaluation took longer than its time limit.");
	if (!ev->finished) {
		switch (ev->step) {
		case STEP_RECORD:
			on_record(ev, ans);
			break;
		case STEP_A:
			addr_answer(ev, ans, false);
			break;
		case STEP_EXISTS:
			addr_answer(ev, ans, true);
			break;
		case STEP_MX:
			on_mx(ev, ans);
			break;
		case STEP_PTR:
		case STEP_P_PTR:
			on_ptr(ev, ans, ev->step == STEP_P_PTR);
			break;
		case STEP_MX_ADDR:
		case STEP_PTR_ADDR:
		case STEP_P_ADDR:
			on_fan_answer(ev, q->slot, ans);
			break;
		case STEP_EXP:
			on_exp(ev, ans);
			break;
		}
	}
	if (ev->finished && ev->outstanding == 0) {
		free(ev->frames);
		free(ev);
	}
}

/* split_sender - section 4.3: local-part and domain, postmaster default. */
static int
split_sender(struct spf_eval *ev, const char *sender, const char *helo)
{
	const char *at = strrchr(sender, '@');
	int n;

	if (sender[0] == '\0') {
		n = snprintf(ev->local, sizeof(ev->local), "postmaster");
		n = snprintf(ev->sender_domain, sizeof(ev->sender_domain), "%s",
		             helo);
	} else if (at == NULL) {
		snprintf(ev->local, sizeof(ev->local), "postmaster");
		n = snprintf(ev->sender_domain, sizeof(ev->sender_domain), "%s",
		             sender);
	} else {
		n = snprintf(ev->local, sizeof(ev->local), "%.*s",
		             (int)(at - sender), sender);
		if (ev->local[0] == '\0')
			snprintf(ev->local, sizeof(ev->local), "postmaster");
		if (n < 0 || (size_t)n >= sizeof(ev->local))
			return -1;
		n = snprintf(ev->sender_domain, sizeof(ev->sender_domain), "%s",
		             at + 1);
	}
	if (n < 0 || (size_t)n >= sizeof(ev->sender_domain))
		return -1;
	n = snprintf(ev->sender, sizeof(ev->sender), "%s@%s", ev->local,
	             ev->sender_domain);
	return n < 0 || (size_t)n >= sizeof(ev->sender) ? -1 : 0;
}

/* domain_ok - section 4.3: a multi-label name that DNS can hold. */
static bool
domain_ok(const char *d, char *out, size_t outlen)
{
	size_t i, n = strlen(d);

	if (n == 0 || n >= outlen || d[0] == '[' || n > DOMAIN_MAX + 1)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)d[i] < 0x21 || (unsigned char)d[i] > 0x7e)
			return false;
	memcpy(out, d, n + 1);
	if (spf_target_name(out) != 0 || strlen(out) != n - (d[n - 1] == '.'))
		return false;
	return strchr(out, '.') != NULL;
}

/* eval_new - the evaluation object with its copies of the request. */
static struct spf_eval *
eval_new(const struct resolver *res, const struct spf_request *req,
         struct spf_outcome *out, spf_done_cb done, void *arg)
{
	struct spf_eval *ev = calloc(1, sizeof(*ev));
	unsigned ms =
	    req->timeout_ms ? req->timeout_ms : SPF_TIMEOUT_MS_DEFAULT;

	if (ev == NULL)
		return NULL;
	ev->frames = malloc(SPF_DEPTH_MAX * sizeof(*ev->frames));
	if (ev->frames == NULL) {
		free(ev);
		return NULL;
	}
	ev->res = *res;
	ev->out = out;
	ev->done = done;
	ev->arg = arg;
	ev->sync = true;
	ev->ip = req->ip;
	ev->now = req->now ? req->now : time(NULL);
	snprintf(ev->helo, sizeof(ev->helo), "%s", req->helo ? req->helo : "");
	if (req->receiver != NULL)
		snprintf(ev->receiver, sizeof(ev->receiver), "%s",
		         req->receiver);
	clock_gettime(CLOCK_MONOTONIC, &ev->deadline);
	ev->deadline.tv_sec += ms / 1000;
	ev->deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ev->deadline.tv_nsec >= 1000000000L) {
		ev->deadline.tv_sec++;
		ev->deadline.tv_nsec -= 1000000000L;
	}
	return ev;
}

int
spf_check_host(const struct resolver *res, const struct spf_request *req,
               struct spf_outcome *out, spf_done_cb done, void *arg)
{
	struct spf_eval *ev;
	const char *domain;
	char name[DOMAIN_BUF + 1];

	memset(out, 0, sizeof(*out));
	if ((ev = eval_new(res, req, out, done, arg)) == NULL) {
		out->result = SPF_TEMPERROR;
		snprintf(out->reason, sizeof(out->reason), "Out of memory.");
		return 1;
	}
	if (split_sender(ev, req->sender ? req->sender : "", ev->helo) != 0) {
		eval_finish(ev, SPF_NONE, "The sender is too long to check.");
	} else {
		domain = req->domain ? req->domain : ev->sender_domain;
		sanitize_text(out->domain, sizeof(out->domain),
		              (const unsigned char *)domain, strlen(domain));
		if (domain[0] == '\0') {
			/* An empty HELO with the null sender, or "local@". */
			eval_finish(ev, SPF_NONE,
			            "The domain to check is empty.");
		} else if (!domain_ok(domain, name, sizeof(name))) {
			eval_finish(
			    ev, SPF_NONE,
			    "%s is not a valid multi-label domain name.",
			    out->domain);
		} else {
			ev->depth = 1;
			frame_load(ev, name, false);
		}
	}
	ev->sync = false;
	if (ev->finished && ev->outstanding == 0) {
		free(ev->frames);
		free(ev);
		return 1;
	}
	return 0;
}

/* ---- validation for readiness ---- */

enum walk_kind { WALK_RECORD, WALK_A, WALK_MX };

struct walk_node {
	char domain[DOMAIN_BUF];
	enum walk_kind kind;
	int parent; /* -1 for the MAIL FROM domain */
};

struct spf_val;

struct val_qctx {
	struct spf_val *v;
	size_t idx;
};

struct spf_val {
	struct resolver res;
	struct spf_validate_request req;
	struct check_result *out;
	spf_validate_cb done;
	void *arg;
	bool sync, finished;
	size_t outstanding;
	size_t nnodes;
	unsigned dns_terms, voids;
	bool temp, missing, include_found, macros, truncated;
	char error[REPORT_DETAIL_MAX / 2]; /* the first problem that fails */
	char warn[REPORT_DETAIL_MAX / 2];  /* notes that do not fail */
	size_t nnets, nprobes;
	bool nets_lost; /* more ip4/ip6 terms than nets[] holds */
	/* Not zeroed (val_new): each entry is written before it is read.
	 * nodes[0..nnodes) and q[0..nnodes) by val_add, nets[0..nnets) by
	 * val_term, probes and of[] by val_probes, outs[i] by
	 * spf_check_host. */
	struct walk_node nodes[SPF_WALK_MAX];
	struct val_qctx q[SPF_WALK_MAX];
	struct spf_range nets[SPF_NETS_MAX]; /* ip4/ip6 terms of the tree */
	struct spf_addr probes[SPF_PROBES_MAX];
	size_t of[SPF_PROBES_MAX]; /* the egress entry of each probe */
	struct spf_outcome outs[SPF_PROBES_MAX];
};

/* val_new - a validation with its fixed part zeroed; the arrays at its
 * end are tens of kilobytes that a refresh would clear for every domain. */
static struct spf_val *
val_new(void)
{
	struct spf_val *v = malloc(sizeof(*v));

	if (v != NULL)
		memset(v, 0, offsetof(struct spf_val, nodes));
	return v;
}

static void val_answer(void *arg, const struct dns_answer *ans);

/* val_error - keep the first problem, as one clause. */
static void val_error(struct spf_val *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
val_error(struct spf_val *v, const char *fmt, ...)
{
	va_list ap;

	if (v->error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(v->error, sizeof(v->error), fmt, ap);
	va_end(ap);
}

/* val_warn - append a note ("; " separated), bounded. */
static void
val_warn(struct spf_val *v, const char *note)
{
	size_t n = strlen(v->warn);

	if (strstr(v->warn, note) != NULL)
		return;
	snprintf(v->warn + n, sizeof(v->warn) - n, "%s%s", n > 0 ? "; " : "",
	         note);
}

static void
val_free_if_done(struct spf_val *v)
{
	if (v->finished && v->outstanding == 0)
		free(v);
}

/* val_finish - fill the result once and call back (unless sync). */
static void val_finish(struct spf_val *v, enum check_status st, const char *fmt,
                       ...) __attribute__((format(printf, 3, 4)));

static void
val_finish(struct spf_val *v, enum check_status st, const char *fmt, ...)
{
	va_list ap;

	if (v->finished)
		return;
	v->finished = true;
	v->out->status = st;
	va_start(ap, fmt);
	vsnprintf(v->out->detail, sizeof(v->out->detail), fmt, ap);
	va_end(ap);
	if (!v->sync)
		v->done(v->arg, v->out);
}

/* val_add - queue a lookup for a new walk node; false when full. */
static bool
val_add(struct spf_val *v, const char *domain, enum walk_kind kind, int parent)
{
	static const uint16_t qtypes[] = {
	    [WALK_RECORD] = DNS_TYPE_TXT,
	    [WALK_A] = DNS_TYPE_A,
	    [WALK_MX] = DNS_TYPE_MX,
	};
	struct walk_node *n;
	size_t i = v->nnodes;

	if (i >= SPF_WALK_MAX) {
		v->truncated = true;
		return false;
	}
	n = &v->nodes[i];
	snprintf(n->domain, sizeof(n->domain), "%.*s", DOMAIN_MAX, domain);
	n->kind = kind;
	n->parent = parent;
	v->nnodes++;
	v->q[i].v = v;
	v->q[i].idx = i;
	v->outstanding++;
	if (v->res.query(v->res.impl, n->domain, qtypes[kind], val_answer,
	                 &v->q[i]) == 0)
		return true;
	v->outstanding--;
	v->temp = true;
	return false;
}

/* val_in_chain - domain is node idx or one of its ancestors (a loop). */
static bool
val_in_chain(const struct spf_val *v, int idx, const char *domain)
{
	for (; idx >= 0; idx = v->nodes[idx].parent)
		if (dnsmsg_name_equal(v->nodes[idx].domain, domain))
			return true;
	return false;
}

/* val_follow - an include or redirect target: loop check, then walk. */
static void
val_follow(struct spf_val *v, size_t idx, const char *what, const char *target)
{
	char name[DOMAIN_BUF + 1];

	snprintf(name, sizeof(name), "%s", target);
	if (spf_target_name(name) != 0) {
		val_error(v, "%s in the record of %s names no valid domain",
		          what, v->nodes[idx].domain);
		return;
	}
	if (v->req.include[0] != '\0' &&
	    dnsmsg_name_equal(name, v->req.include))
		v->include_found = true;
	if (val_in_chain(v, (int)idx, name)) {
		val_error(v, "%s in the record of %s makes a loop", what,
		          v->nodes[idx].domain);
		return;
	}
	if (v->dns_terms <= SPF_DNS_TERMS_MAX)
		val_add(v, name, WALK_RECORD, (int)idx);
}

/* val_term - what one term of a walked record tells the operator. */
static void
val_term(struct spf_val *v, size_t idx, const unsigned char *rec,
         const struct spf_record *r, size_t i)
{
	const struct spf_term *t = &r->terms[i];
	char arg[DOMAIN_BUF + 1], q[SPF_TERM_TEXT_MAX];
	bool macro = memchr(rec + t->arg_off, '%', t->arg_len) != NULL;

	text_quote(q, sizeof(q), (const char *)rec + t->off, t->len);
	if (t->arg_len > DOMAIN_MAX)
		macro = true; /* not a plain name: leave it to check_host */
	snprintf(arg, sizeof(arg), "%.*s", (int)t->arg_len,
	         (const char *)rec + t->arg_off);
	if (t->arg_len == 0)
		snprintf(arg, sizeof(arg), "%s", v->nodes[idx].domain);
	if (r->all >= 0 && (int)i > r->all && t->mech != SPF_MOD_EXP &&
	    t->mech != SPF_MOD_UNKNOWN)
		val_warn(v, "terms after all are ignored");
	if (macro && t->mech != SPF_MOD_EXP && t->mech != SPF_MOD_UNKNOWN &&
	    t->arg_len > 0) {
		v->macros = true;
		if (t->mech == SPF_MECH_INCLUDE || t->mech == SPF_MOD_REDIRECT)
			return;
	}
	switch (t->mech) {
	case SPF_MECH_ALL:
		if ((int)i == r->all && t->qual == SPF_PASS)
			val_error(v,
			          "%s in the record of %s lets every host "
			          "on the Internet pass",
			          q, v->nodes[idx].domain);
		else if ((int)i == r->all && t->qual == SPF_NEUTRAL)
			val_warn(v, "?all makes unlisted hosts neutral "
			            "instead of failing them");
		break;
	case SPF_MECH_PTR:
		val_warn(v, "ptr is slow and discouraged (RFC 7208 section "
		            "5.5)");
		break;
	case SPF_MECH_INCLUDE:
		val_follow(v, idx, q, arg);
		break;
	case SPF_MECH_IP4:
	case SPF_MECH_IP6:
		if (v->nnets == SPF_NETS_MAX) {
			v->nets_lost = true;
			break;
		}
		v->nets[v->nnets].net = t->net;
		v->nets[v->nnets++].bits =
		    t->mech == SPF_MECH_IP4 ? t->cidr4 : t->cidr6;
		break;
	case SPF_MOD_REDIRECT:
		if (r->all < 0)
			val_follow(v, idx, q, arg);
		break;
	case SPF_MECH_A:
	case SPF_MECH_MX:
		if (!macro && v->dns_terms <= SPF_DNS_TERMS_MAX &&
		    spf_target_name(arg) == 0)
			val_add(v, arg,
			        t->mech == SPF_MECH_A ? WALK_A : WALK_MX,
			        (int)idx);
		break;
	default:
		break;
	}
}

/* val_record - the TXT answer of one walked domain. */
static void
val_record(struct spf_val *v, size_t idx, const struct dns_answer *ans)
{
	enum answer_class c = answer_class(ans);
	const char *dom = v->nodes[idx].domain;
	char err[REPORT_DETAIL_MAX / 2];
	struct spf_record *r;
	size_t i = 0, k;
	int n;

	if (c == ANS_TEMP) {
		v->temp = true;
		return;
	}
	n = c == ANS_OK ? select_record(ans, &i) : 0;
	if (idx == 0 && n == 1)
		check_result_seen(v->out, ans->rrs[i].data, ans->rrs[i].len);
	if (n == 0) {
		if (idx == 0)
			v->missing = true;
		else
			val_error(v,
			          "%s, which the policy names, has no SPF "
			          "record",
			          dom);
		return;
	}
	if (n > 1) {
		val_error(v,
		          "%s publishes %d SPF records where exactly one is "
		          "allowed",
		          dom, n);
		return;
	}
	if (idx == 0 && ans->rrs[i].len > SPF_RECORD_SIZE_WARN)
		val_warn(v, "the record is over 450 bytes and may not fit a "
		            "512-byte UDP answer");
	if ((r = malloc(sizeof(*r))) == NULL) {
		v->temp = true;
		return;
	}
	if (spf_parse(ans->rrs[i].data, ans->rrs[i].len, r, err, sizeof(err)) !=
	    0) {
		val_error(v, "in the SPF record of %s, %s", dom, err);
	} else {
		v->dns_terms += r->dns_terms;
		for (k = 0; k < r->nterms; k++)
			val_term(v, idx, ans->rrs[i].data, r, k);
	}
	free(r);
}

/* val_addr - a or mx target: count void lookups (section 4.6.4). */
static void
val_addr(struct spf_val *v, size_t idx, const struct dns_answer *ans)
{
	size_t i, n = 0;

	switch (answer_class(ans)) {
	case ANS_VOID:
		v->voids++;
		break;
	case ANS_TEMP:
		v->temp = true;
		break;
	case ANS_OK:
		for (i = 0; i < ans->count; i++)
			n += ans->rrs[i].type == DNS_TYPE_MX;
		if (v->nodes[idx].kind == WALK_MX && n > SPF_NAMES_MAX)
			val_error(v,
			          "%s has %zu MX records, over the %d the mx "
			          "mechanism allows",
			          v->nodes[idx].domain, n, SPF_NAMES_MAX);
		break;
	}
}

static void val_judge(struct spf_val *v);

/* val_egress_done - one check_host() for an egress address is in. */
static void
val_egress_done(void *arg, struct spf_outcome *out)
{
	struct spf_val *v = arg;

	(void)out;
	v->outstanding--;
	if (v->outstanding == 0)
		val_judge(v);
	val_free_if_done(v);
}

/* addr_cmp - order of two addresses of one family. */
static int
addr_cmp(const struct spf_addr *a, const struct spf_addr *b)
{
	return memcmp(a->a, b->a, a->family == AF_INET ? 4 : 16);
}

/* addr_next - ip + 1; false when ip is the last address. */
static bool
addr_next(struct spf_addr *ip)
{
	int i = ip->family == AF_INET ? 3 : 15;

	for (; i >= 0; i--)
		if (++ip->a[i] != 0)
			return true;
	return false;
}

/* val_probe - add ip as a probe of egress entry e unless it is one;
 * false when the probes are full. */
static bool
val_probe(struct spf_val *v, size_t e, const struct spf_addr *ip)
{
	size_t i;

	for (i = 0; i < v->nprobes; i++)
		if (v->of[i] == e && addr_cmp(&v->probes[i], ip) == 0)
			return true;
	if (v->nprobes == SPF_PROBES_MAX)
		return false;
	v->of[v->nprobes] = e;
	v->probes[v->nprobes++] = *ip;
	return true;
}

/*
 * val_probes - the addresses check_host() runs for.  An address is one
 * probe.  A range is cut by every ip4 (ip6) network of the walked tree
 * at the network's first address and at the address after its last, so
 * that each piece lies wholly inside or outside every such network; one
 * probe per piece (its first address), and the range's last address.
 * false when more than SPF_PROBES_MAX probes would be needed, or when
 * the tree has more networks than nets[] kept and a range is asked.
 */
static bool
val_probes(struct spf_val *v)
{
	size_t e, k;

	v->nprobes = 0;
	for (e = 0; e < v->req.negress; e++) {
		const struct spf_range *r = &v->req.egress[e];
		struct spf_addr first = addr_host(&r->net, r->bits, false);
		struct spf_addr last = addr_host(&r->net, r->bits, true);

		if (!val_probe(v, e, &first) || !val_probe(v, e, &last))
			return false;
		if (v->nets_lost && addr_cmp(&first, &last) != 0)
			return false; /* cuts unknown: no range can be judged */
		for (k = 0; k < v->nnets; k++) {
			const struct spf_range *n = &v->nets[k];
			struct spf_addr lo = addr_host(&n->net, n->bits, false);
			struct spf_addr hi = addr_host(&n->net, n->bits, true);
			bool after = addr_next(&hi);

			if (n->net.family != r->net.family)
				continue;
			if (addr_cmp(&lo, &first) > 0 &&
			    addr_cmp(&lo, &last) <= 0 && !val_probe(v, e, &lo))
				return false;
			if (after && addr_cmp(&hi, &first) > 0 &&
			    addr_cmp(&hi, &last) <= 0 && !val_probe(v, e, &hi))
				return false;
		}
	}
	return true;
}

/* val_range_text - "192.0.2.0/24" for a range, "" for one address. */
static void
val_range_text(const struct spf_range *r, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	buf[0] = '\0';
	if (r->bits == (r->net.family == AF_INET ? 32u : 128u))
		return;
	addr_text(&r->net, ip, sizeof(ip));
	snprintf(buf, len, " (in the egress range %s/%u)", ip, r->bits);
}

/* val_walk_done - the tree is known: fail on problems, else egress. */
static void
val_walk_done(struct spf_val *v)
{
	const char *d = v->req.domain;
	size_t i;

	if (v->missing) {
		val_finish(
		    v, CHECK_MISSING,
		    "No SPF record at %s; publish \"%s\" as a TXT record.", d,
		    v->out->expected);
		return;
	}
	if (v->dns_terms > SPF_DNS_TERMS_MAX)
		val_error(v,
		          "the policy needs %u DNS-querying terms, over "
		          "the limit of %d, so receivers return permerror",
		          v->dns_terms, SPF_DNS_TERMS_MAX);
	if (v->voids > SPF_VOID_MAX)
		val_error(v,
		          "%u names in the policy do not exist, over the "
		          "limit of %d void lookups",
		          v->voids, SPF_VOID_MAX);
	if (v->error[0] != '\0') {
		val_finish(v, CHECK_FAIL, "The SPF policy of %s is broken: %s.",
		           d, v->error);
		return;
	}
	if (v->temp) {
		val_finish(
		    v, CHECK_TEMPERROR,
		    "A DNS lookup for the SPF policy of %s failed; try again.",
		    d);
		return;
	}
	if (!val_probes(v)) {
		val_finish(v, CHECK_FAIL,
		           "The SPF policy of %s cuts the egress ranges into "
		           "more than %d pieces to check; name smaller ranges "
		           "or single addresses.",
		           d, SPF_PROBES_MAX);
		return;
	}
	v->outstanding++; /* hold: no egress callback may judge early */
	for (i = 0; i < v->nprobes; i++) {
		struct spf_request rq = {
		    .ip = v->probes[i],
		    .sender = "",
		    .helo = d,
		    .domain = d,
		    .timeout_ms = v->req.timeout_ms,
		};

		v->outstanding++;
		if (spf_check_host(&v->res, &rq, &v->outs[i], val_egress_done,
		                   v) == 1)
			v->outstanding--;
	}
	if (--v->outstanding == 0)
		val_judge(v);
}

/* val_judge - egress results and the required include decide. */
static void
val_judge(struct spf_val *v)
{
	char ip[INET6_ADDRSTRLEN], range[INET6_ADDRSTRLEN + 32];
	const char *note = v->warn[0] != '\0' ? v->warn : "no warnings";
	size_t i;

	for (i = 0; i < v->nprobes; i++) {
		const struct spf_outcome *o = &v->outs[i];

		if (o->result == SPF_PASS)
			continue;
		addr_text(&v->probes[i], ip, sizeof(ip));
		val_range_text(&v->req.egress[v->of[i]], range, sizeof(range));
		val_finish(
		    v,
		    o->result == SPF_TEMPERROR ? CHECK_TEMPERROR : CHECK_FAIL,
		    "The SPF policy of %s gives %s, not pass, for the egress "
		    "address %s%s (%s); authorize it in the record.",
		    v->req.domain, spf_result_name(o->result), ip, range,
		    o->reason);
		return;
	}
	if (v->req.include[0] != '\0' && !v->include_found) {
		val_finish(v, CHECK_FAIL,
		           "The SPF policy of %s does not include %s%s; add "
		           "include:%s before the all term.",
		           v->req.domain, v->req.include,
		           v->macros ? " (macro terms were not followed)" : "",
		           v->req.include);
		return;
	}
	val_finish(
	    v, CHECK_PASS,
	    "The SPF policy of %s is valid (%u of %d DNS-querying terms, %u "
	    "void lookups%s); %s.",
	    v->req.domain, v->dns_terms, SPF_DNS_TERMS_MAX, v->voids,
	    v->truncated ? ", walk cut short" : "", note);
}

static void
val_answer(void *arg, const struct dns_answer *ans)
{
	struct val_qctx *q = arg;
	struct spf_val *v = q->v;

	v->outstanding--;
	if (!v->finished) {
		if (v->nodes[q->idx].kind == WALK_RECORD)
			val_record(v, q->idx, ans);
		else
			val_addr(v, q->idx, ans);
		if (v->outstanding == 0)
			val_walk_done(v);
	}
	val_free_if_done(v);
}

/* val_expected - what the owner should publish, for the report. */
static void
val_expected(const struct spf_validate_request *req, struct check_result *res)
{
	if (req->include[0] != '\0')
		snprintf(res->expected, sizeof(res->expected),
		         "v=spf1 include:%s ~all", req->include);
	else
		snprintf(res->expected, sizeof(res->expected),
		         "v=spf1 ... ~all authorizing the egress addresses");
}

int
spf_validate(const struct resolver *resv,
             const struct spf_validate_request *req, struct check_result *res,
             spf_validate_cb done, void *arg)
{
	struct spf_val *v;

	memset(res, 0, sizeof(*res));
	res->type = CHECK_SPF;
	snprintf(res->name, sizeof(res->name), "%s", req->domain);
	val_expected(req, res);
	if ((v = val_new()) == NULL) {
		check_result_set(res, CHECK_TEMPERROR, "Out of memory.");
		return 1;
	}
	v->res = *resv;
	v->req = *req;
	if (v->req.negress > SPF_EGRESS_MAX)
		v->req.negress = SPF_EGRESS_MAX;
	v->out = res;
	v->done = done;
	v->arg = arg;
	v->sync = true;
	if (!val_add(v, req->domain, WALK_RECORD, -1))
		val_finish(
		    v, CHECK_TEMPERROR,
		    "The DNS lookup of %s could not be started; try again.",
		    req->domain);
	v->sync = false;
	if (v->finished) {
		free(v);
		return 1;
	}
	return 0;
}
