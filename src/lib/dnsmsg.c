/*
 * dnsmsg.c - DNS wire-format answer parsing, bounded and pure.
 *
 * SYNOPSIS
 *	int dnsmsg_parse(const unsigned char *msg, size_t len,
 *	    const char *qname, uint16_t qtype, unsigned hops,
 *	    struct dns_answer *ans);
 *	void dns_answer_init(struct dns_answer *ans, const char *qname,
 *	    uint16_t qtype, enum dns_outcome outcome, const char *error);
 *	void dns_answer_free(struct dns_answer *ans);
 *	bool dns_outcome_is_temporary(enum dns_outcome outcome);
 *	const char *dns_outcome_name(enum dns_outcome outcome);
 *	bool dnsmsg_name_equal(const char *a, const char *b);
 *
 * DESCRIPTION
 *	dnsmsg_parse() checks the header (a response, opcode QUERY), that
 *	the question echoes (qname, qtype, IN) and maps the RCODE through
 *	a table.  For NOERROR and NXDOMAIN it walks the answer section,
 *	follows the CNAME chain from qname (owners compared without regard
 *	to case), and collects the records of qtype owned by the last name
 *	of the chain.  A chain that ends on a name with no records in this
 *	message yields DNS_CNAME_PENDING with final_name set to that name.
 *	Authority and additional sections are not looked at.
 *
 *	Names are decoded into lowercase wire form first: every compression
 *	pointer must point strictly before the previous jump (so decoding
 *	always ends), labels are 63 octets at most and names 255; the 0x40
 *	and 0x80 label types are rejected.  The presentation form keeps
 *	letters, digits, '-' and '_' and writes every other octet as \DDD;
 *	the root is ".".
 *
 * DIAGNOSTICS
 *	dnsmsg_parse() returns -1 with outcome DNS_FORMERR and a phrase in
 *	ans->error when the message is malformed (or DNS_ERROR when memory
 *	ran out), and 0 otherwise: the outcome may still be an error the
 *	server reported, or DNS_ERROR for a truncated (TC) response.
 */
#include "dnsmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text.h"

static const char *const dns_outcome_names[] = {
    [DNS_OK] = "ok",
    [DNS_NXDOMAIN] = "nxdomain",
    [DNS_NODATA] = "nodata",
    [DNS_SERVFAIL] = "servfail",
    [DNS_REFUSED] = "refused",
    [DNS_TIMEOUT] = "timeout",
    [DNS_FORMERR] = "formerr",
    [DNS_CNAME_PENDING] = "cname-pending",
    [DNS_CNAME_LOOP] = "cname-loop",
    [DNS_ERROR] = "error",
};

const char *
dns_outcome_name(enum dns_outcome outcome)
{
	if ((size_t)outcome >=
	    sizeof(dns_outcome_names) / sizeof(*dns_outcome_names))
		return "unknown";
	return dns_outcome_names[outcome];
}

bool
dns_outcome_is_temporary(enum dns_outcome outcome)
{
	switch (outcome) {
	case DNS_SERVFAIL:
	case DNS_REFUSED:
	case DNS_TIMEOUT:
	case DNS_FORMERR:
	case DNS_CNAME_PENDING:
	case DNS_CNAME_LOOP:
	case DNS_ERROR:
		return true;
	case DNS_OK:
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		break;
	}
	return false;
}

void
dns_answer_init(struct dns_answer *ans, const char *qname, uint16_t qtype,
                enum dns_outcome outcome, const char *error)
{
	size_t n;

	/* Field by field: a refresh makes several of these per domain and
	 * the name buffers are large. */
	ans->outcome = outcome;
	ans->qtype = qtype;
	ans->cname_hops = 0;
	ans->count = 0;
	ans->rrs = NULL;
	n = qname != NULL ? strnlen(qname, sizeof(ans->qname) - 1) : 0;
	memcpy(ans->qname, qname != NULL ? qname : "", n);
	ans->qname[n] = '\0';
	memcpy(ans->final_name, ans->qname, n + 1);
	n = error != NULL ? strnlen(error, sizeof(ans->error) - 1) : 0;
	memcpy(ans->error, error != NULL ? error : "", n);
	ans->error[n] = '\0';
}

void
dns_answer_free(struct dns_answer *ans)
{
	size_t i;

	for (i = 0; i < ans->count; i++)
		free(ans->rrs[i].data);
	free(ans->rrs);
	ans->rrs = NULL;
	ans->count = 0;
}

bool
dnsmsg_name_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

#define DNSMSG_HEADER_LEN 12
#define DNSMSG_MSG_MAX 65535 /* a DNS message, UDP or TCP */
#define DNSMSG_WIRE_MAX 255  /* octets in a name (RFC 1035 2.3.4) */
#define DNSMSG_LABEL_MAX 63  /* octets in a label */
#define DNSMSG_RR_FIXED 10   /* type, class, TTL, RDLENGTH */
#define DNSMSG_POINTER 0xc0  /* label type: compression pointer */
#define DNSMSG_CLASS_IN 1
#define DNSMSG_OPCODE_QUERY 0
#define DNSMSG_RCODE_NOERROR 0
#define DNSMSG_RCODE_NXDOMAIN 3
#define DNSMSG_TYPE_NS 2
#define DNSMSG_NOMEM (-2) /* return value: allocation failed */

/* The message and what its header says. */
struct dnsmsg {
	const unsigned char *buf;
	size_t len;
	unsigned rcode;
	bool truncated;
	unsigned ancount;
	size_t an_off; /* first octet of the answer section */
};

/* A name in wire form, ASCII letters lowercased. */
struct dnsmsg_name {
	unsigned char wire[DNSMSG_WIRE_MAX];
	size_t len;
};

/* One resource record of the answer section; RDATA stays in place. */
struct dnsmsg_rr {
	struct dnsmsg_name owner;
	uint16_t type;
	uint16_t class;
	uint32_t ttl;
	size_t rdoff;
	size_t rdlen;
};

/* RCODEs other than NOERROR, and what they mean to a lookup. */
static const struct dnsmsg_rcode {
	unsigned rcode;
	enum dns_outcome outcome;
	const char *error;
} dnsmsg_rcodes[] = {
    {1, DNS_FORMERR, "server reported a format error (FORMERR)"},
    {2, DNS_SERVFAIL, "server failure (SERVFAIL)"},
    {3, DNS_NXDOMAIN, "no such domain (NXDOMAIN)"},
    {4, DNS_ERROR, "query type not implemented by server (NOTIMP)"},
    {5, DNS_REFUSED, "query refused (REFUSED)"},
};

/* dnsmsg_get16 - a 16-bit field in network order. */
static uint16_t
dnsmsg_get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* dnsmsg_get32 - a 32-bit field in network order. */
static uint32_t
dnsmsg_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* dnsmsg_why - note a reason and return -1. */
static int
dnsmsg_why(const char **why, const char *reason)
{
	*why = reason;
	return -1;
}

/*
 * dnsmsg_name_decode - decode the (possibly compressed) name at off.
 * *next is the offset just after the name's in-place octets.  Each
 * pointer must point before the previous jump, so decoding terminates.
 */
static int
dnsmsg_name_decode(const unsigned char *buf, size_t len, size_t off,
                   struct dnsmsg_name *name, size_t *next, const char **why)
{
	size_t pos = off, out = 0, bound = off;
	bool jumped = false;

	for (;;) {
		size_t c, i;

		if (pos >= len)
			return dnsmsg_why(why, "name runs past the message");
		c = buf[pos];
		if ((c & DNSMSG_POINTER) == DNSMSG_POINTER) {
			size_t target;

			if (len - pos < 2)
				return dnsmsg_why(why,
				                  "name runs past the message");
			target = (c & 0x3f) << 8 | buf[pos + 1];
			if (target >= (jumped ? bound : pos))
				return dnsmsg_why(
				    why,
				    "compression pointer does not point back");
			if (!jumped)
				*next = pos + 2;
			jumped = true;
			bound = pos = target;
			continue;
		}
		if (c & DNSMSG_POINTER)
			return dnsmsg_why(why, "unsupported label type");
		if (c == 0)
			break;
		if (len - pos - 1 < c)
			return dnsmsg_why(why, "label runs past the message");
		/* room for this label and the root label after it */
		if (out + 1 + c + 1 > DNSMSG_WIRE_MAX)
			return dnsmsg_why(why, "name longer than 255 octets");
		name->wire[out++] = (unsigned char)c;
		for (i = 1; i <= c; i++)
			name->wire[out++] =
			    (unsigned char)text_lower(buf[pos + i]);
		pos += 1 + c;
	}
	name->wire[out++] = 0;
	name->len = out;
	if (!jumped)
		*next = pos + 1;
	return 0;
}

/* dnsmsg_name_equal_wire - same name (both are lowercased). */
static bool
dnsmsg_name_equal_wire(const struct dnsmsg_name *a, const struct dnsmsg_name *b)
{
	return a->len == b->len && memcmp(a->wire, b->wire, a->len) == 0;
}

/* dnsmsg_text_octet - one octet of a label in presentation form. */
static size_t
dnsmsg_text_octet(unsigned char c, char out[5])
{
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	    c == '_') {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	out[1] = (char)('0' + c / 100);
	out[2] = (char)('0' + c / 10 % 10);
	out[3] = (char)('0' + c % 10);
	return 4;
}

/* dnsmsg_name_text - presentation form without the final dot. */
static void
dnsmsg_name_text(const struct dnsmsg_name *name, char *out, size_t outlen)
{
	size_t pos = 0, used = 0;

	if (outlen == 0)
		return;
	if (name->len <= 1 && outlen > 1)
		out[used++] = '.';
	while (pos < name->len && name->wire[pos] != 0) {
		size_t n = name->wire[pos++], i;

		if (used > 0 && used + 1 < outlen)
			out[used++] = '.';
		for (i = 0; i < n && pos < name->len; i++, pos++) {
			char esc[5];
			size_t k = dnsmsg_text_octet(name->wire[pos], esc);

			if (used + k >= outlen)
				break;
			memcpy(out + used, esc, k);
			used += k;
		}
	}
	out[used] = '\0';
}

/* dnsmsg_text_escape - decode \DDD or \X at text[i]; -1 if malformed. */
static int
dnsmsg_text_escape(const char *text, size_t tlen, size_t *i)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t j = *i;
	unsigned v;

	if (j + 1 >= tlen)
		return -1;
	if (j + 3 < tlen && p[j + 1] >= '0' && p[j + 1] <= '9' &&
	    p[j + 2] >= '0' && p[j + 2] <= '9' && p[j + 3] >= '0' &&
	    p[j + 3] <= '9') {
		v = (unsigned)(p[j + 1] - '0') * 100 +
		    (unsigned)(p[j + 2] - '0') * 10 +
		    (unsigned)(p[j + 3] - '0');
		if (v > 255)
			return -1;
		*i = j + 3;
		return (int)v;
	}
	*i = j + 1;
	return p[j + 1];
}

/* dnsmsg_name_from_text - wire form of a presentation name; -1 if bad. */
static int
dnsmsg_name_from_text(const char *text, struct dnsmsg_name *name)
{
	size_t tlen = strnlen(text, DNS_NAME_TEXT_MAX), i, lab = 0, out = 1;
	size_t lablen = 0;

	if (tlen >= DNS_NAME_TEXT_MAX)
		return -1;
	if (tlen == 0 || (tlen == 1 && text[0] == '.')) {
		name->wire[0] = 0;
		name->len = 1;
		return 0;
	}
	for (i = 0; i < tlen; i++) {
		int c = (unsigned char)text[i];

		if (c == '.') {
			if (lablen == 0)
				return -1;
			name->wire[lab] = (unsigned char)lablen;
			if (i + 1 == tlen)
				break;
			lab = out++;
			lablen = 0;
			continue;
		}
		if (c == '\\' && (c = dnsmsg_text_escape(text, tlen, &i)) < 0)
			return -1;
		if (lablen == DNSMSG_LABEL_MAX || out + 2 > DNSMSG_WIRE_MAX)
			return -1;
		name->wire[out++] = (unsigned char)text_lower((unsigned char)c);
		lablen++;
	}
	if (lablen > 0)
		name->wire[lab] = (unsigned char)lablen;
	name->wire[out++] = 0;
	name->len = out;
	return 0;
}

/* dnsmsg_header - check the header; note RCODE, TC and the counts. */
static int
dnsmsg_header(struct dnsmsg *m, const char **why)
{
	uint16_t flags;

	if (m->buf == NULL || m->len < DNSMSG_HEADER_LEN)
		return dnsmsg_why(why, "message shorter than a DNS header");
	if (m->len > DNSMSG_MSG_MAX)
		return dnsmsg_why(why, "message longer than 65535 octets");
	flags = dnsmsg_get16(m->buf + 2);
	if ((flags & 0x8000) == 0)
		return dnsmsg_why(why, "message is not a response");
	if (((flags >> 11) & 0x0f) != DNSMSG_OPCODE_QUERY)
		return dnsmsg_why(why, "response opcode is not QUERY");
	m->truncated = (flags & 0x0200) != 0;
	m->rcode = flags & 0x0f;
	m->ancount = dnsmsg_get16(m->buf + 6);
	return 0;
}

/* dnsmsg_question - the one question must echo (qname, qtype, IN). */
static int
dnsmsg_question(struct dnsmsg *m, const struct dnsmsg_name *qname,
                uint16_t qtype, const char **why)
{
	struct dnsmsg_name name;
	size_t next = 0;

	if (dnsmsg_get16(m->buf + 4) != 1)
		return dnsmsg_why(why, "response does not have one question");
	if (dnsmsg_name_decode(m->buf, m->len, DNSMSG_HEADER_LEN, &name, &next,
	                       why) < 0)
		return -1;
	if (m->len - next < 4)
		return dnsmsg_why(why, "question runs past the message");
	if (!dnsmsg_name_equal_wire(&name, qname))
		return dnsmsg_why(why,
		                  "question name does not match the query");
	if (dnsmsg_get16(m->buf + next) != qtype)
		return dnsmsg_why(why,
		                  "question type does not match the query");
	if (dnsmsg_get16(m->buf + next + 2) != DNSMSG_CLASS_IN)
		return dnsmsg_why(why, "question class is not IN");
	m->an_off = next + 4;
	return 0;
}

/* dnsmsg_rr_read - the record at *pos, RDATA checked against the end. */
static int
dnsmsg_rr_read(const struct dnsmsg *m, size_t *pos, struct dnsmsg_rr *rr,
               const char **why)
{
	size_t p = 0;

	if (dnsmsg_name_decode(m->buf, m->len, *pos, &rr->owner, &p, why) < 0)
		return -1;
	if (m->len - p < DNSMSG_RR_FIXED)
		return dnsmsg_why(why, "record runs past the message");
	rr->type = dnsmsg_get16(m->buf + p);
	rr->class = dnsmsg_get16(m->buf + p + 2);
	rr->ttl = dnsmsg_get32(m->buf + p + 4);
	if (rr->ttl > 0x7fffffffu) /* RFC 2181 section 8 */
		rr->ttl = 0;
	rr->rdlen = dnsmsg_get16(m->buf + p + 8);
	rr->rdoff = p + DNSMSG_RR_FIXED;
	if (rr->rdlen > m->len - rr->rdoff)
		return dnsmsg_why(why, "RDATA runs past the message");
	*pos = rr->rdoff + rr->rdlen;
	return 0;
}

/* dnsmsg_answers_check - every answer record must be well formed. */
static int
dnsmsg_answers_check(const struct dnsmsg *m, const char **why)
{
	struct dnsmsg_rr rr;
	size_t pos = m->an_off;
	unsigned i;

	for (i = 0; i < m->ancount; i++)
		if (dnsmsg_rr_read(m, &pos, &rr, why) < 0)
			return -1;
	return 0;
}

/* dnsmsg_rdata_name - decode a name that must fill the RDATA exactly. */
static int
dnsmsg_rdata_name_at(const struct dnsmsg *m, const struct dnsmsg_rr *rr,
                     size_t skip, struct dnsmsg_name *name, const char **why)
{
	size_t next = 0;

	if (rr->rdlen <= skip)
		return dnsmsg_why(why, "RDATA too short");
	if (dnsmsg_name_decode(m->buf, m->len, rr->rdoff + skip, name, &next,
	                       why) < 0)
		return -1;
	if (next != rr->rdoff + rr->rdlen)
		return dnsmsg_why(why, "name does not fill RDLENGTH");
	return 0;
}

/* dnsmsg_find_cname - the first IN CNAME owned by name, if any. */
static bool
dnsmsg_find_cname(const struct dnsmsg *m, const struct dnsmsg_name *name,
                  struct dnsmsg_rr *rr)
{
	size_t pos = m->an_off;
	const char *why = NULL;
	unsigned i;

	for (i = 0; i < m->ancount; i++) {
		if (dnsmsg_rr_read(m, &pos, rr, &why) < 0)
			return false;
		if (rr->type == DNS_TYPE_CNAME &&
		    rr->class == DNSMSG_CLASS_IN &&
		    dnsmsg_name_equal_wire(&rr->owner, name))
			return true;
	}
	return false;
}

/*
 * dnsmsg_follow - follow the CNAME chain from *cur inside the answer.
 * Returns 0 with *cur the last name, 1 for a loop or a chain over the
 * bound, -1 for a malformed CNAME.
 */
static int
dnsmsg_follow(const struct dnsmsg *m, struct dnsmsg_name *cur, unsigned hops,
              unsigned *followed, const char **why)
{
	struct dnsmsg_name seen[DNS_CNAME_HOPS_MAX + 1];
	struct dnsmsg_name target;
	struct dnsmsg_rr rr;
	size_t nseen = 0, i;

	seen[nseen++] = *cur;
	while (dnsmsg_find_cname(m, cur, &rr)) {
		if (dnsmsg_rdata_name_at(m, &rr, 0, &target, why) < 0)
			return -1;
		if (hops + *followed >= DNS_CNAME_HOPS_MAX) {
			*why = "CNAME chain longer than the limit";
			return 1;
		}
		for (i = 0; i < nseen; i++) {
			if (dnsmsg_name_equal_wire(&seen[i], &target)) {
				*why = "CNAME loop";
				return 1;
			}
		}
		(*followed)++;
		seen[nseen++] = target;
		*cur = target;
	}
	return 0;
}

/* dnsmsg_rr_set - give a record a copy of data, NUL-terminated. */
static int
dnsmsg_rr_set(struct dns_rr *out, const unsigned char *data, size_t len)
{
	out->data = malloc(len + 1);
	if (out->data == NULL)
		return DNSMSG_NOMEM;
	if (len > 0)
		memcpy(out->data, data, len);
	out->data[len] = '\0';
	out->len = len;
	return 0;
}

/* dnsmsg_rdata_txt - concatenate the character-strings of one TXT. */
static int
dnsmsg_rdata_txt(const struct dnsmsg *m, const struct dnsmsg_rr *rr,
                 struct dns_rr *out, const char **why)
{
	const unsigned char *p = m->buf + rr->rdoff;
	size_t pos = 0, total = 0, used = 0;

	while (pos < rr->rdlen) {
		size_t n = p[pos];

		if (n > rr->rdlen - pos - 1)
			return dnsmsg_why(why, "TXT string runs past RDLENGTH");
		total += n;
		pos += 1 + n;
	}
	out->data = malloc(total + 1);
	if (out->data == NULL)
		return DNSMSG_NOMEM;
	for (pos = 0; pos < rr->rdlen; pos += 1 + (size_t)p[pos]) {
		memcpy(out->data + used, p + pos + 1, p[pos]);
		used += p[pos];
	}
	out->data[used] = '\0';
	out->len = used;
	return 0;
}

/* dnsmsg_rdata_mx - preference and exchange in presentation form. */
static int
dnsmsg_rdata_mx(const struct dnsmsg *m, const struct dnsmsg_rr *rr,
                struct dns_rr *out, const char **why)
{
	struct dnsmsg_name name;
	char text[DNS_NAME_TEXT_MAX];

	if (rr->rdlen < 3)
		return dnsmsg_why(why, "MX RDATA too short");
	if (dnsmsg_rdata_name_at(m, rr, 2, &name, why) < 0)
		return -1;
	out->preference = dnsmsg_get16(m->buf + rr->rdoff);
	dnsmsg_name_text(&name, text, sizeof(text));
	return dnsmsg_rr_set(out, (const unsigned char *)text, strlen(text));
}

/* dnsmsg_rdata_domain - CNAME, PTR, NS: the name in presentation form. */
static int
dnsmsg_rdata_domain(const struct dnsmsg *m, const struct dnsmsg_rr *rr,
                    struct dns_rr *out, const char **why)
{
	struct dnsmsg_name name;
	char text[DNS_NAME_TEXT_MAX];

	if (dnsmsg_rdata_name_at(m, rr, 0, &name, why) < 0)
		return -1;
	dnsmsg_name_text(&name, text, sizeof(text));
	return dnsmsg_rr_set(out, (const unsigned char *)text, strlen(text));
}

/* dnsmsg_rdata_addr - A and AAAA: the address octets, size checked. */
static int
dnsmsg_rdata_addr(const struct dnsmsg *m, const struct dnsmsg_rr *rr,
                  struct dns_rr *out, const char **why)
{
	if (rr->rdlen != (rr->type == DNS_TYPE_A ? 4u : 16u))
		return dnsmsg_why(why, "address RDATA has the wrong length");
	return dnsmsg_rr_set(out, m->buf + rr->rdoff, rr->rdlen);
}

/* dnsmsg_rdata_raw - any other type: the RDATA as is. */
static int
dnsmsg_rdata_raw(const struct dnsmsg *m, const struct dnsmsg_rr *rr,
                 struct dns_rr *out, const char **why)
{
	(void)why;
	return dnsmsg_rr_set(out, m->buf + rr->rdoff, rr->rdlen);
}

/* How the RDATA of each type becomes dns_rr data. */
static const struct dnsmsg_decoder {
	uint16_t type;
	int (*decode)(const struct dnsmsg *, const struct dnsmsg_rr *,
	              struct dns_rr *, const char **);
} dnsmsg_decoders[] = {
    {DNS_TYPE_TXT, dnsmsg_rdata_txt},      {DNS_TYPE_MX, dnsmsg_rdata_mx},
    {DNS_TYPE_CNAME, dnsmsg_rdata_domain}, {DNS_TYPE_PTR, dnsmsg_rdata_domain},
    {DNSMSG_TYPE_NS, dnsmsg_rdata_domain}, {DNS_TYPE_A, dnsmsg_rdata_addr},
    {DNS_TYPE_AAAA, dnsmsg_rdata_addr},
};

/* dnsmsg_rdata - decode one record's RDATA by its type. */
static int
dnsmsg_rdata(const struct dnsmsg *m, const struct dnsmsg_rr *rr,
             struct dns_rr *out, const char **why)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->type = rr->type;
	out->ttl = rr->ttl;
	for (i = 0; i < sizeof(dnsmsg_decoders) / sizeof(*dnsmsg_decoders); i++)
		if (dnsmsg_decoders[i].type == rr->type)
			return dnsmsg_decoders[i].decode(m, rr, out, why);
	return dnsmsg_rdata_raw(m, rr, out, why);
}

/* dnsmsg_grow - room for one more record (capacity doubles). */
static int
dnsmsg_grow(struct dns_answer *ans)
{
	struct dns_rr *rrs;
	size_t n = ans->count;

	if (n != 0 && (n & (n - 1)) != 0)
		return 0;
	rrs = realloc(ans->rrs, (n == 0 ? 1 : 2 * n) * sizeof(*rrs));
	if (rrs == NULL)
		return DNSMSG_NOMEM;
	ans->rrs = rrs;
	return 0;
}

/* dnsmsg_collect - the IN records of qtype owned by name. */
static int
dnsmsg_collect(const struct dnsmsg *m, const struct dnsmsg_name *name,
               struct dns_answer *ans, const char **why)
{
	struct dnsmsg_rr rr;
	size_t pos = m->an_off;
	unsigned i;
	int rc;

	for (i = 0; i < m->ancount && ans->count < DNS_ANSWER_RRS_MAX; i++) {
		if ((rc = dnsmsg_rr_read(m, &pos, &rr, why)) < 0)
			return rc;
		if (rr.type != ans->qtype || rr.class != DNSMSG_CLASS_IN ||
		    !dnsmsg_name_equal_wire(&rr.owner, name))
			continue;
		if ((rc = dnsmsg_grow(ans)) < 0)
			return rc;
		if ((rc = dnsmsg_rdata(m, &rr, &ans->rrs[ans->count], why)) < 0)
			return rc;
		ans->count++;
	}
	return 0;
}

/* dnsmsg_finish - set outcome and reason; returns what parse returns. */
static int
dnsmsg_finish(struct dns_answer *ans, enum dns_outcome outcome,
              const char *error)
{
	if (outcome != DNS_OK)
		dns_answer_free(ans);
	ans->outcome = outcome;
	snprintf(ans->error, sizeof(ans->error), "%s", error ? error : "");
	return outcome == DNS_FORMERR ? -1 : 0;
}

/* dnsmsg_rcode - outcome for an RCODE that ends the parse, or DNS_OK. */
static enum dns_outcome
dnsmsg_rcode(unsigned rcode, const char **error)
{
	size_t i;

	if (rcode == DNSMSG_RCODE_NOERROR || rcode == DNSMSG_RCODE_NXDOMAIN)
		return DNS_OK;
	for (i = 0; i < sizeof(dnsmsg_rcodes) / sizeof(*dnsmsg_rcodes); i++) {
		if (dnsmsg_rcodes[i].rcode == rcode) {
			*error = dnsmsg_rcodes[i].error;
			return dnsmsg_rcodes[i].outcome;
		}
	}
	*error = "unexpected RCODE in response";
	return DNS_ERROR;
}

/* dnsmsg_answer - follow, collect and decide for NOERROR and NXDOMAIN. */
static int
dnsmsg_answer(const struct dnsmsg *m, const struct dnsmsg_name *qname,
              unsigned hops, struct dns_answer *ans)
{
	struct dnsmsg_name cur = *qname;
	const char *why = NULL;
	unsigned followed = 0;
	int rc = 0;

	if (dnsmsg_answers_check(m, &why) < 0)
		return dnsmsg_finish(ans, DNS_FORMERR, why);
	if (ans->qtype != DNS_TYPE_CNAME)
		rc = dnsmsg_follow(m, &cur, hops, &followed, &why);
	if (rc < 0)
		return dnsmsg_finish(ans, DNS_FORMERR, why);
	ans->cname_hops = hops + followed;
	if (followed > 0)
		dnsmsg_name_text(&cur, ans->final_name,
		                 sizeof(ans->final_name));
	if (rc > 0)
		return dnsmsg_finish(ans, DNS_CNAME_LOOP, why);
	if (m->rcode == DNSMSG_RCODE_NXDOMAIN)
		return dnsmsg_finish(ans, DNS_NXDOMAIN,
		                     "no such domain (NXDOMAIN)");
	rc = dnsmsg_collect(m, &cur, ans, &why);
	if (rc == DNSMSG_NOMEM) {
		dnsmsg_finish(ans, DNS_ERROR, "out of memory");
		return -1;
	}
	if (rc < 0)
		return dnsmsg_finish(ans, DNS_FORMERR, why);
	if (ans->count > 0)
		return dnsmsg_finish(ans, DNS_OK, NULL);
	if (followed > 0)
		return dnsmsg_finish(ans, DNS_CNAME_PENDING,
		                     "CNAME target not in the answer");
	return dnsmsg_finish(ans, DNS_NODATA, NULL);
}

int
dnsmsg_parse(const unsigned char *msg, size_t len, const char *qname,
             uint16_t qtype, unsigned hops, struct dns_answer *ans)
{
	struct dnsmsg m;
	struct dnsmsg_name qwire;
	enum dns_outcome outcome;
	const char *why = NULL;

	dns_answer_init(ans, qname, qtype, DNS_OK, NULL);
	ans->cname_hops = hops;
	if (qname == NULL || dnsmsg_name_from_text(qname, &qwire) < 0)
		return dnsmsg_finish(ans, DNS_FORMERR, "invalid query name");
	memset(&m, 0, sizeof(m));
	m.buf = msg;
	m.len = len;
	if (dnsmsg_header(&m, &why) < 0 ||
	    dnsmsg_question(&m, &qwire, qtype, &why) < 0)
		return dnsmsg_finish(ans, DNS_FORMERR, why);
	if ((outcome = dnsmsg_rcode(m.rcode, &why)) != DNS_OK) {
		/* well formed, even when the server says FORMERR */
		dnsmsg_finish(ans, outcome, why);
		return 0;
	}
	if (m.truncated)
		return dnsmsg_finish(ans, DNS_ERROR, "truncated response");
	return dnsmsg_answer(&m, &qwire, hops, ans);
}
