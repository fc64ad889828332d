/*
 * dns-faulty.c - a DNS server on loopback that misbehaves on purpose.
 *
 * SYNOPSIS
 *	dns-faulty RULESFILE PORTFILE
 *
 * DESCRIPTION
 *	Binds UDP and TCP on 127.0.0.1, on one port the kernel picks, writes
 *	the port and a newline to PORTFILE (atomically, as dns-blackhole
 *	does) and answers every query from the rules in RULESFILE.  SIGHUP
 *	reads RULESFILE again (a bad file keeps the old rules), so a test can
 *	make a name go bad while its clients run.  Every (re)load logs
 *	"dns-faulty: loaded N rules (generation G)" on stderr and every query
 *	one line "dns-faulty: PROTO NAME TYPE -> FAULT", so a test can wait
 *	for a reload and count the queries a client made.
 *
 *	One rule per line, "#" starts a comment line:
 *
 *	    NAME TYPE FAULT [PARAM] [DATA...]
 *
 *	NAME is a domain name, matched exactly and case-insensitively (a
 *	trailing dot is optional), or "*" for a default rule; exact rules
 *	win over default rules, the first match in file order wins, and a
 *	query no rule matches gets REFUSED.  TYPE is A, NS, CNAME, SOA, MX,
 *	TXT, AAAA or "*" (every type).  DATA is a list of records for the
 *	name, each introduced by its type word:
 *
 *	    txt "STRING" ["STRING"...]   one TXT record of one or more
 *	                                 strings (\" \\ and \DDD escapes)
 *	    mx PREF HOST                 one MX record
 *	    cname TARGET                 one CNAME record
 *	    a ADDRESS                    one A record
 *
 *	An answer holds the records of DATA whose type is the query type (a
 *	CNAME always).  FAULT is one of:
 *
 *	    ok                    answer with DATA (none of the type: NODATA)
 *	    servfail, refused, formerr, nxdomain
 *	                          that RCODE and no records
 *	    nodata                NOERROR and no records
 *	    timeout               never answer (TCP: hold the connection)
 *	    truncate              UDP: TC=1 and no records; TCP: DATA
 *	    truncate-tcp-refused  UDP: TC=1 and no records; TCP: the
 *	                          connection is reset once the query is read
 *	    cname-loop            NAME CNAME _loop.NAME, which CNAMEs back to
 *	                          NAME: one hop per answer, for ever
 *	    cname-chain N         NAME -> _c1.NAME -> ... -> _cN.NAME, which
 *	                          owns DATA; the whole chain in one answer
 *	                          (each _cK.NAME answers from hop K on)
 *	    two-spf               DATA plus TXT "v=spf1 -all"
 *	    huge-txt [K]          DATA, then records of K strings (default 1)
 *	                          of 255 octets (MX queries: MX records with
 *	                          long exchanges) until the message is 65535
 *	                          octets; the RRset is far larger than that.
 *	                          Over UDP it never fits: TC=1
 *	    ctrl-bytes            DATA with NUL, CR, LF, ESC and 0xff put in:
 *	                          after the 8th octet of each TXT record's
 *	                          first string, as a first label of each MX
 *	                          exchange and CNAME target
 *	    wrong-id              an answer with a wrong ID, then the right one
 *	    wrong-id-never        only the answer with the wrong ID
 *	    slow MS               UDP: DATA as ok does, MS milliseconds
 *	                          (1 to 60000) after the query came; the
 *	                          server goes on serving meanwhile (at most
 *	                          DFAULTY_DELAYED_MAX answers wait, more are
 *	                          sent at once).  TCP: DATA at once
 *
 *	Answers echo the question and, when the query had an EDNS0 OPT
 *	record, carry one (payload DFAULTY_EDNS_PAYLOAD); a UDP answer longer
 *	than the client's payload (512 without EDNS0) is sent with TC=1 and
 *	no records.  Queries that are not standard queries for one question
 *	get NOTIMP or FORMERR; datagrams shorter than a header are dropped.
 *
 * DIAGNOSTICS
 *	Exit status 1 with a message on stderr when setup fails or the first
 *	load of RULESFILE fails (with its line number); 2 on a usage error.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lo-listen.h"

#define DFAULTY_CONN_MAX 64 /* TCP connections at once */
#define DFAULTY_PATH_MAX 4096
#define DFAULTY_RULES_MAX 1024      /* rules in one file */
#define DFAULTY_RULE_RRS_MAX 8      /* records of DATA in one rule */
#define DFAULTY_POOL_MAX 2048       /* records of DATA in one file */
#define DFAULTY_RDATA_MAX 1024      /* octets of one record's RDATA */
#define DFAULTY_FILE_MAX (1 << 20)  /* octets of the rules file */
#define DFAULTY_TOKENS_MAX 64       /* words on one rule line */
#define DFAULTY_TOKEN_MAX 1024      /* octets of one word */
#define DFAULTY_NAME_MAX 255        /* octets of a wire-format name */
#define DFAULTY_LABEL_MAX 63        /* octets of one label */
#define DFAULTY_CHAIN_MAX 32        /* CNAMEs of a cname-chain */
#define DFAULTY_HUGE_STRINGS_MAX 16 /* strings per huge-txt record */
#define DFAULTY_MSG_MAX 65535       /* octets of a DNS message */
#define DFAULTY_UDP_MIN 512         /* UDP payload without EDNS0 */
#define DFAULTY_UDP_MAX 4096        /* UDP payload we honour at most */
#define DFAULTY_EDNS_PAYLOAD 1232   /* the payload we advertise */
#define DFAULTY_TTL 60
#define DFAULTY_POLL_MS 100     /* how often SIGHUP is looked for */
#define DFAULTY_SEND_TIMEOUT 2  /* seconds a TCP answer may take */
#define DFAULTY_LOG_NAME_MAX 80 /* octets of a name in a log line */
#define DFAULTY_WRONG_ID_XOR 0x5a5a
#define DFAULTY_SLOW_MAX_MS 60000 /* the longest delay of slow */
#define DFAULTY_DELAYED_MAX 256   /* UDP answers waiting to be sent */
#define DFAULTY_DELAYED_LEN (DFAULTY_UDP_MAX + 64) /* octets of one */

#define DNS_HDR 12
#define T_A 1
#define T_NS 2
#define T_CNAME 5
#define T_SOA 6
#define T_MX 15
#define T_TXT 16
#define T_AAAA 28
#define T_OPT 41
#define RC_NOERROR 0
#define RC_FORMERR 1
#define RC_SERVFAIL 2
#define RC_NXDOMAIN 3
#define RC_NOTIMP 4
#define RC_REFUSED 5

enum fault {
	FAULT_OK,
	FAULT_SERVFAIL,
	FAULT_REFUSED,
	FAULT_FORMERR,
	FAULT_NXDOMAIN,
	FAULT_NODATA,
	FAULT_TIMEOUT,
	FAULT_TRUNCATE,
	FAULT_TRUNCATE_TCP_REFUSED,
	FAULT_CNAME_LOOP,
	FAULT_CNAME_CHAIN,
	FAULT_TWO_SPF,
	FAULT_HUGE_TXT,
	FAULT_CTRL_BYTES,
	FAULT_WRONG_ID,
	FAULT_WRONG_ID_NEVER,
	FAULT_SLOW,
};

/* FAULT words: the fault, whether a number follows (2: optional), and
 * its largest value. */
static const struct {
	const char *word;
	enum fault fault;
	int param;
	unsigned max;
} fault_table[] = {
    {"ok", FAULT_OK, 0, 0},
    {"servfail", FAULT_SERVFAIL, 0, 0},
    {"refused", FAULT_REFUSED, 0, 0},
    {"formerr", FAULT_FORMERR, 0, 0},
    {"nxdomain", FAULT_NXDOMAIN, 0, 0},
    {"nodata", FAULT_NODATA, 0, 0},
    {"timeout", FAULT_TIMEOUT, 0, 0},
    {"truncate", FAULT_TRUNCATE, 0, 0},
    {"truncate-tcp-refused", FAULT_TRUNCATE_TCP_REFUSED, 0, 0},
    {"cname-loop", FAULT_CNAME_LOOP, 0, 0},
    {"cname-chain", FAULT_CNAME_CHAIN, 1, DFAULTY_CHAIN_MAX},
    {"two-spf", FAULT_TWO_SPF, 0, 0},
    {"huge-txt", FAULT_HUGE_TXT, 2, DFAULTY_HUGE_STRINGS_MAX},
    {"ctrl-bytes", FAULT_CTRL_BYTES, 0, 0},
    {"wrong-id", FAULT_WRONG_ID, 0, 0},
    {"wrong-id-never", FAULT_WRONG_ID_NEVER, 0, 0},
    {"slow", FAULT_SLOW, 1, DFAULTY_SLOW_MAX_MS},
};

/* The RCODE of each fault that answers with no records but an RCODE. */
static const struct {
	enum fault fault;
	int rcode;
} rcode_table[] = {
    {FAULT_SERVFAIL, RC_SERVFAIL}, {FAULT_REFUSED, RC_REFUSED},
    {FAULT_FORMERR, RC_FORMERR},   {FAULT_NXDOMAIN, RC_NXDOMAIN},
    {FAULT_NODATA, RC_NOERROR},
};

/* TYPE words; 0 is every type. */
static const struct {
	const char *word;
	uint16_t type;
} type_table[] = {
    {"*", 0},       {"A", T_A},   {"NS", T_NS},   {"CNAME", T_CNAME},
    {"SOA", T_SOA}, {"MX", T_MX}, {"TXT", T_TXT}, {"AAAA", T_AAAA},
};

/* The bytes ctrl-bytes puts into records. */
static const uint8_t ctrl_bytes[] = {0x00, '\r', '\n', 0x1b, 0xff};
static const char two_spf_extra[] = "v=spf1 -all";

struct rr {
	uint16_t type;
	uint16_t len;
	uint8_t data[DFAULTY_RDATA_MAX];
};

struct rule {
	uint8_t name[DFAULTY_NAME_MAX]; /* wire format, lower case */
	size_t namelen;                 /* 0: the default rule "*" */
	uint16_t qtype;                 /* 0: every type */
	enum fault fault;
	unsigned param;
	size_t nrr;
	const struct rr *rr; /* nrr records in the pool of its rules */
};

struct rules {
	size_t n;
	unsigned generation;
	struct rule r[DFAULTY_RULES_MAX];
	size_t npool;
	struct rr pool[DFAULTY_POOL_MAX];
};

struct token {
	uint8_t b[DFAULTY_TOKEN_MAX];
	size_t len;
	int quoted;
};

struct query {
	uint16_t id;
	uint16_t flags;
	const uint8_t *question; /* the question as received */
	size_t qlen;
	uint8_t name[DFAULTY_NAME_MAX]; /* lower case */
	size_t namelen;
	uint16_t qtype;
	int edns;
	size_t payload; /* UDP octets the client takes */
};

struct msg {
	uint8_t b[DFAULTY_MSG_MAX];
	size_t len;
	size_t cap;
	uint16_t ancount;
	int overflow;
};

/* What the server does with a query. */
enum action { A_SEND, A_DROP, A_RESET };

/* A UDP answer of slow, waiting for its time. */
struct delayed {
	uint64_t due_ms; /* CLOCK_MONOTONIC */
	struct sockaddr_in to;
	socklen_t tolen;
	size_t len;
	uint8_t b[DFAULTY_DELAYED_LEN];
};

struct delay_queue {
	size_t n;
	struct delayed d[DFAULTY_DELAYED_MAX]; /* in the order they came */
};

struct conn {
	int fd;
	size_t have;
	uint8_t buf[2 + DFAULTY_MSG_MAX];
};

/* die - report a setup failure and exit. */
static void
die(const char *what)
{
	fprintf(stderr, "dns-faulty: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Rules file ---------------------------------------------------------- */

/* name_to_wire - text name (no escapes) to lower-case wire format. */
static int
name_to_wire(const uint8_t *s, size_t len, uint8_t *out, size_t *outlen)
{
	size_t o = 0, start = 0, i;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0) {
		out[0] = 0;
		*outlen = 1;
		return 0;
	}
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (i == start || i - start > DFAULTY_LABEL_MAX ||
		    o + 1 + (i - start) + 1 > DFAULTY_NAME_MAX)
			return -1;
		out[o++] = (uint8_t)(i - start);
		while (start < i)
			out[o++] = (uint8_t)tolower(s[start++]);
		start = i + 1;
	}
	out[o++] = 0;
	*outlen = o;
	return 0;
}

/* tok_escape - one \X or \DDD escape at s[*i] (after the backslash). */
static int
tok_escape(const char *s, size_t len, size_t *i, uint8_t *out)
{
	unsigned v = 0, k;

	if (*i >= len)
		return -1;
	if (!isdigit((unsigned char)s[*i])) {
		*out = (uint8_t)s[(*i)++];
		return 0;
	}
	for (k = 0; k < 3; k++) {
		if (*i >= len || !isdigit((unsigned char)s[*i]))
			return -1;
		v = v * 10 + (unsigned)(s[(*i)++] - '0');
	}
	if (v > 255)
		return -1;
	*out = (uint8_t)v;
	return 0;
}

/* tokenize - split one line into words and quoted strings. */
static int
tokenize(const char *s, size_t len, struct token *tok, size_t *ntok)
{
	size_t i = 0, n = 0;

	for (;;) {
		while (i < len && isspace((unsigned char)s[i]))
			i++;
		if (i >= len)
			break;
		if (n == DFAULTY_TOKENS_MAX)
			return -1;
		tok[n].len = 0;
		tok[n].quoted = s[i] == '"';
		if (tok[n].quoted)
			i++;
		while (i < len) {
			uint8_t c = (uint8_t)s[i];

			if (tok[n].quoted ? c == '"' : isspace(c))
				break;
			i++;
			if (c == '\\' && tok_escape(s, len, &i, &c) < 0)
				return -1;
			if (tok[n].len == DFAULTY_TOKEN_MAX)
				return -1;
			tok[n].b[tok[n].len++] = c;
		}
		if (tok[n].quoted) {
			if (i >= len)
				return -1; /* unterminated string */
			i++;
		}
		n++;
	}
	*ntok = n;
	return 0;
}

/* tok_is - whether token t is the word w (case-insensitive). */
static int
tok_is(const struct token *t, const char *w)
{
	return !t->quoted && t->len == strlen(w) &&
	       strncasecmp((const char *)t->b, w, t->len) == 0;
}

/* tok_number - an unsigned decimal token no greater than max. */
static int
tok_number(const struct token *t, unsigned max, unsigned *out)
{
	unsigned long v = 0;
	size_t i;

	if (t->quoted || t->len == 0 || t->len > 9)
		return -1;
	for (i = 0; i < t->len; i++) {
		if (!isdigit(t->b[i]))
			return -1;
		v = v * 10 + (t->b[i] - '0');
	}
	if (v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* rr_name - RDATA that is a name (CNAME, MX exchange) at rr->len. */
static int
rr_name(struct rr *rr, const struct token *t)
{
	size_t n;

	if (t->quoted || rr->len + DFAULTY_NAME_MAX > DFAULTY_RDATA_MAX ||
	    name_to_wire(t->b, t->len, rr->data + rr->len, &n) < 0)
		return -1;
	rr->len = (uint16_t)(rr->len + n);
	return 0;
}

/* parse_record - one record of DATA from tok[*i]; advances *i. */
static int
parse_record(const struct token *tok, size_t ntok, size_t *i, struct rr *rr)
{
	const struct token *t = &tok[(*i)++];
	unsigned pref;

	rr->len = 0;
	if (tok_is(t, "txt")) {
		rr->type = T_TXT;
		if (*i >= ntok || !tok[*i].quoted)
			return -1;
		while (*i < ntok && tok[*i].quoted) {
			t = &tok[(*i)++];
			if (t->len > 255 ||
			    rr->len + 1 + t->len > DFAULTY_RDATA_MAX)
				return -1;
			rr->data[rr->len++] = (uint8_t)t->len;
			memcpy(rr->data + rr->len, t->b, t->len);
			rr->len = (uint16_t)(rr->len + t->len);
		}
		return 0;
	}
	if (tok_is(t, "mx")) {
		rr->type = T_MX;
		if (*i + 2 > ntok || tok_number(&tok[*i], 65535, &pref) < 0)
			return -1;
		rr->data[0] = (uint8_t)(pref >> 8);
		rr->data[1] = (uint8_t)pref;
		rr->len = 2;
		return rr_name(rr, &tok[*i + 1]) < 0 ? -1 : (*i += 2, 0);
	}
	if (tok_is(t, "cname")) {
		rr->type = T_CNAME;
		if (*i >= ntok)
			return -1;
		return rr_name(rr, &tok[(*i)++]);
	}
	if (tok_is(t, "a")) {
		char addr[INET_ADDRSTRLEN];

		rr->type = T_A;
		if (*i >= ntok || tok[*i].len >= sizeof(addr))
			return -1;
		memcpy(addr, tok[*i].b, tok[*i].len);
		addr[tok[(*i)++].len] = 0;
		rr->len = 4;
		return inet_pton(AF_INET, addr, rr->data) == 1 ? 0 : -1;
	}
	return -1;
}

/* parse_head - NAME TYPE FAULT [PARAM]; sets *i to the first DATA word. */
static int
parse_head(const struct token *tok, size_t ntok, struct rule *r, size_t *i)
{
	size_t k;

	if (ntok < 3)
		return -1;
	if (tok_is(&tok[0], "*"))
		r->namelen = 0;
	else if (tok[0].quoted ||
	         name_to_wire(tok[0].b, tok[0].len, r->name, &r->namelen) < 0)
		return -1;
	for (k = 0; k < sizeof(type_table) / sizeof(type_table[0]); k++)
		if (tok_is(&tok[1], type_table[k].word))
			break;
	if (k == sizeof(type_table) / sizeof(type_table[0]))
		return -1;
	r->qtype = type_table[k].type;
	for (k = 0; k < sizeof(fault_table) / sizeof(fault_table[0]); k++)
		if (tok_is(&tok[2], fault_table[k].word))
			break;
	if (k == sizeof(fault_table) / sizeof(fault_table[0]))
		return -1;
	r->fault = fault_table[k].fault;
	r->param = r->fault == FAULT_HUGE_TXT ? 1 : 0;
	*i = 3;
	if (fault_table[k].param == 0)
		return 0;
	if (*i < ntok &&
	    tok_number(&tok[*i], fault_table[k].max, &r->param) == 0) {
		(*i)++;
		return r->param == 0 ? -1 : 0;
	}
	return fault_table[k].param == 1 ? -1 : 0;
}

/* parse_rule - one rule line into rs->r[rs->n]; -1 when malformed. */
static int
parse_rule(const char *line, size_t len, struct rules *rs)
{
	struct rule *r = &rs->r[rs->n];

	struct token tok[DFAULTY_TOKENS_MAX];
	size_t ntok, i;

	memset(r, 0, sizeof(*r));
	if (tokenize(line, len, tok, &ntok) < 0 ||
	    parse_head(tok, ntok, r, &i) < 0)
		return -1;
	while (i < ntok) {
		if (r->nrr == DFAULTY_RULE_RRS_MAX ||
		    rs->npool == DFAULTY_POOL_MAX ||
		    parse_record(tok, ntok, &i, &rs->pool[rs->npool]) < 0)
			return -1;
		if (r->nrr++ == 0)
			r->rr = &rs->pool[rs->npool];
		rs->npool++;
	}
	return 0;
}

/* read_file - the whole of path, at most DFAULTY_FILE_MAX octets. */
static char *
read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;

	if (fp == NULL)
		return NULL;
	if ((buf = malloc(DFAULTY_FILE_MAX + 1)) == NULL) {
		fclose(fp);
		return NULL;
	}
	*len = fread(buf, 1, DFAULTY_FILE_MAX + 1, fp);
	if (ferror(fp) || *len > DFAULTY_FILE_MAX) {
		errno = ferror(fp) ? EIO : EFBIG;
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	return buf;
}

/* rules_load - parse path into out; -1 with a message in err. */
static int
rules_load(const char *path, struct rules *out, char *err, size_t errlen)
{
	size_t len, pos = 0, lineno = 0;
	char *buf = read_file(path, &len);

	if (buf == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	out->n = out->npool = 0;
	while (pos < len) {
		const char *line = buf + pos,
		           *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos, k = 0;

		pos += ll + (nl != NULL);
		lineno++;
		while (k < ll && isspace((unsigned char)line[k]))
			k++;
		if (k == ll || line[k] == '#')
			continue;
		if (out->n == DFAULTY_RULES_MAX ||
		    parse_rule(line, ll, out) < 0) {
			snprintf(err, errlen, "%s: line %zu: %s", path, lineno,
			         out->n == DFAULTY_RULES_MAX ? "too many rules"
			                                     : "bad rule");
			free(buf);
			return -1;
		}
		out->n++;
	}
	free(buf);
	return 0;
}

/* Messages ------------------------------------------------------------ */

/* put - append octets to m; remembers an overflow. */
static void
put(struct msg *m, const void *p, size_t n)
{
	if (m->overflow || n > m->cap - m->len) {
		m->overflow = 1;
		return;
	}
	if (n == 0)
		return; /* p may be NULL: no question */
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

/* put16 - append a 16-bit value in network order. */
static void
put16(struct msg *m, unsigned v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put(m, b, 2);
}

/* put_rr - one resource record: owner (wire), type, TTL, RDATA. */
static void
put_rr(struct msg *m, const uint8_t *owner, size_t olen, uint16_t type,
       const uint8_t *rdata, size_t rdlen)
{
	static const uint8_t ttl[4] = {0, 0, 0, DFAULTY_TTL};
	size_t mark = m->len;

	put(m, owner, olen);
	put16(m, type);
	put16(m, 1);
	put(m, ttl, 4);
	put16(m, (unsigned)rdlen);
	put(m, rdata, rdlen);
	if (m->overflow)
		m->len = mark;
	else
		m->ancount++;
}

/* msg_start - header and question of the answer to q. */
static void
msg_start(struct msg *m, const struct query *q, size_t cap, int rcode)
{
	/* QR, the query's opcode and RD, AA, the RCODE */
	unsigned flags =
	    0x8000 | (q->flags & 0x7900) | 0x0400 | (unsigned)rcode;

	m->len = 0;
	m->cap = cap;
	m->ancount = 0;
	m->overflow = 0;
	put16(m, q->id);
	put16(m, flags);
	put16(m, q->qlen > 0);
	put16(m, 0);
	put16(m, 0);
	put16(m, 0);
	put(m, q->question, q->qlen);
}

/* msg_finish - set ANCOUNT and TC, append OPT when the query had one. */
static void
msg_finish(struct msg *m, const struct query *q, int tc)
{
	static const uint8_t opt[] = {0,
	                              0,
	                              T_OPT,
	                              DFAULTY_EDNS_PAYLOAD >> 8,
	                              DFAULTY_EDNS_PAYLOAD & 0xff,
	                              0,
	                              0,
	                              0,
	                              0,
	                              0,
	                              0};

	m->b[6] = (uint8_t)(m->ancount >> 8);
	m->b[7] = (uint8_t)m->ancount;
	if (tc)
		m->b[2] |= 0x02;
	if (q->edns) {
		m->cap = DFAULTY_MSG_MAX;
		m->overflow = 0;
		put(m, opt, sizeof(opt));
		if (!m->overflow)
			m->b[11] = 1;
	}
}

/* Answers ------------------------------------------------------------- */

/* prefixed - the wire name "label.rest"; 0 when too long. */
static size_t
prefixed(const char *label, const uint8_t *rest, size_t rlen, uint8_t *out)
{
	size_t l = strlen(label);

	if (1 + l + rlen > DFAULTY_NAME_MAX)
		return 0;
	out[0] = (uint8_t)l;
	memcpy(out + 1, label, l);
	memcpy(out + 1 + l, rest, rlen);
	return 1 + l + rlen;
}

/* chain_name - _cK.name (K > 0) or name itself (K == 0). */
static size_t
chain_name(unsigned k, const struct rule *r, uint8_t *out)
{
	char label[16];

	if (k == 0) {
		memcpy(out, r->name, r->namelen);
		return r->namelen;
	}
	snprintf(label, sizeof(label), "_c%u", k);
	return prefixed(label, r->name, r->namelen, out);
}

/* mutate_ctrl - a copy of rr with the ctrl-bytes put in. */
static void
mutate_ctrl(const struct rr *in, struct rr *out)
{
	size_t n = sizeof(ctrl_bytes), at, keep;

	*out = *in;
	if (in->type == T_TXT && in->len > 0 &&
	    in->len + n <= DFAULTY_RDATA_MAX) {
		keep = in->data[0];
		at = keep < 8 ? keep : 8;
		if (keep + n > 255)
			keep = 255 - n;
		out->data[0] = (uint8_t)(keep + n);
		memcpy(out->data + 1, in->data + 1, at);
		memcpy(out->data + 1 + at, ctrl_bytes, n);
		memcpy(out->data + 1 + at + n, in->data + 1 + at, keep - at);
		memcpy(out->data + 1 + keep + n, in->data + 1 + in->data[0],
		       in->len - 1 - in->data[0]);
		out->len = (uint16_t)(in->len + (keep + n - in->data[0]));
		return;
	}
	at = in->type == T_MX ? 2 : 0;
	if ((in->type != T_MX && in->type != T_CNAME) ||
	    in->len + 1 + n > DFAULTY_RDATA_MAX ||
	    in->len - at + 1 + n > DFAULTY_NAME_MAX)
		return;
	out->data[at] = (uint8_t)n;
	memcpy(out->data + at + 1, ctrl_bytes, n);
	memcpy(out->data + at + 1 + n, in->data + at, in->len - at);
	out->len = (uint16_t)(in->len + 1 + n);
}

/* put_data - the records of r that answer qtype, owned by owner. */
static void
put_data(struct msg *m, const struct rule *r, uint16_t qtype,
         const uint8_t *owner, size_t olen)
{
	struct rr tmp;
	size_t i;

	for (i = 0; i < r->nrr; i++) {
		const struct rr *rr = &r->rr[i];

		if (rr->type != qtype && rr->type != T_CNAME)
			continue;
		if (r->fault == FAULT_CTRL_BYTES) {
			mutate_ctrl(rr, &tmp);
			rr = &tmp;
		}
		put_rr(m, owner, olen, rr->type, rr->data, rr->len);
	}
	if (r->fault == FAULT_TWO_SPF && qtype == T_TXT) {
		uint8_t rd[sizeof(two_spf_extra)];

		rd[0] = (uint8_t)(sizeof(two_spf_extra) - 1);
		memcpy(rd + 1, two_spf_extra, sizeof(two_spf_extra) - 1);
		put_rr(m, owner, olen, T_TXT, rd, sizeof(rd));
	}
}

/* put_huge - filler records until the message is full. */
static void
put_huge(struct msg *m, const struct rule *r, uint16_t qtype,
         const uint8_t *owner, size_t olen)
{
	uint8_t rd[DFAULTY_HUGE_STRINGS_MAX * 256];
	size_t len = 0, k, i;

	if (qtype == T_TXT) {
		for (k = 0; k < r->param; k++) {
			rd[len++] = 255;
			memset(rd + len, 'a' + (int)(k % 26), 255);
			len += 255;
		}
	} else if (qtype == T_MX) {
		rd[len++] = 0;
		rd[len++] = 20;
		for (k = 0; k < 3; k++) {
			rd[len++] = DFAULTY_LABEL_MAX;
			memset(rd + len, 'h', DFAULTY_LABEL_MAX);
			len += DFAULTY_LABEL_MAX;
		}
		rd[len++] = 7; /* a distinct last label per record */
	} else {
		return;
	}
	for (i = 0; !m->overflow; i++) {
		if (qtype == T_TXT) {
			rd[1] = (uint8_t)('0' + i % 10); /* records differ */
			rd[2] = (uint8_t)('0' + i / 10 % 10);
			rd[3] = (uint8_t)('0' + i / 100 % 10);
			put_rr(m, owner, olen, T_TXT, rd, len);
		} else {
			char last[8];

			snprintf(last, sizeof(last), "h%06zu", i % 1000000);
			memcpy(rd + len, last, 7);
			rd[len + 7] = 0;
			put_rr(m, owner, olen, T_MX, rd, len + 8);
		}
	}
	/* one short TXT record takes the message to its very last octet */
	m->overflow = 0;
	if (qtype == T_TXT && m->cap - m->len >= olen + 11 &&
	    m->cap - m->len - olen - 11 <= 255) {
		len = m->cap - m->len - olen - 11;
		rd[0] = (uint8_t)len;
		memset(rd + 1, 'z', len);
		put_rr(m, owner, olen, T_TXT, rd, len + 1);
	}
}

/* put_chain - the CNAMEs from hop k to the end of r's chain, then DATA. */
static void
put_chain(struct msg *m, const struct rule *r, unsigned k, uint16_t qtype)
{
	uint8_t from[DFAULTY_NAME_MAX], to[DFAULTY_NAME_MAX];
	size_t flen, tlen;

	for (; k < r->param; k++) {
		flen = chain_name(k, r, from);
		tlen = chain_name(k + 1, r, to);
		if (flen == 0 || tlen == 0) {
			m->overflow = 1;
			return;
		}
		put_rr(m, from, flen, T_CNAME, to, tlen);
	}
	if ((flen = chain_name(r->param, r, from)) == 0) {
		m->overflow = 1;
		return;
	}
	put_data(m, r, qtype, from, flen);
}

/* name_eq - whether wire names a and b are equal (both lower case). */
static int
name_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* synthetic - the hop K of "_cK.rest" (0 for "_loop.rest"), else -1. */
static long
synthetic(const uint8_t *name, size_t len, size_t *restoff)
{
	size_t l = name[0], i;
	long k = 0;

	if (len < 2 || l < 2 || name[1] != '_')
		return -1;
	*restoff = 1 + l;
	if (l == 5 && memcmp(name + 1, "_loop", 5) == 0)
		return 0;
	if (name[2] != 'c' || l < 3 || l > 5)
		return -1;
	for (i = 3; i <= l; i++) {
		if (!isdigit(name[i]))
			return -1;
		k = k * 10 + (name[i] - '0');
	}
	return k > 0 ? k : -1;
}

/* rule_find - the rule for q; *hop is the chain hop (-1: the name). */
static const struct rule *
rule_find(const struct rules *rs, const struct query *q, long *hop)
{
	size_t i, off = 0;
	long k = synthetic(q->name, q->namelen, &off);
	int pass;

	*hop = -1;
	for (i = 0; k >= 0 && i < rs->n; i++) {
		const struct rule *r = &rs->r[i];

		if (r->namelen == 0 ||
		    !name_eq(r->name, r->namelen, q->name + off,
		             q->namelen - off))
			continue;
		if ((k == 0 && r->fault == FAULT_CNAME_LOOP) ||
		    (k > 0 && r->fault == FAULT_CNAME_CHAIN &&
		     k <= (long)r->param)) {
			*hop = k;
			return r;
		}
	}
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < rs->n; i++) {
			const struct rule *r = &rs->r[i];

			if ((pass == 0) != (r->namelen != 0))
				continue;
			if (pass == 0 &&
			    !name_eq(r->name, r->namelen, q->name, q->namelen))
				continue;
			if (r->qtype == 0 || r->qtype == q->qtype)
				return r;
		}
	}
	return NULL;
}

/* answer_loop - one hop of a CNAME loop: NAME <-> _loop.NAME. */
static void
answer_loop(struct msg *m, const struct rule *r, long hop)
{
	uint8_t other[DFAULTY_NAME_MAX];
	size_t olen;

	if (hop == 0) {
		memcpy(other, r->name, r->namelen);
		olen = r->namelen;
	} else if ((olen = prefixed("_loop", r->name, r->namelen, other)) ==
	           0) {
		m->overflow = 1;
		return;
	}
	/* the owner is the question's name: a pointer to it */
	put_rr(m, (const uint8_t[]){0xc0, DNS_HDR}, 2, T_CNAME, other, olen);
}

/* answer - the message for q under rule r; what to do with it. */
static enum action
answer(const struct rule *r, long hop, const struct query *q, int tcp,
       struct msg *m)
{
	static const uint8_t self[2] = {0xc0, DNS_HDR}; /* the question */
	size_t cap = tcp ? DFAULTY_MSG_MAX : q->payload, i;

	if (q->edns)
		cap -= 11; /* room for our OPT */
	if (r == NULL) {
		msg_start(m, q, cap, RC_REFUSED);
		return A_SEND;
	}
	for (i = 0; i < sizeof(rcode_table) / sizeof(rcode_table[0]); i++) {
		if (rcode_table[i].fault == r->fault && hop < 0) {
			msg_start(m, q, cap, rcode_table[i].rcode);
			return A_SEND;
		}
	}
	if (r->fault == FAULT_TIMEOUT)
		return A_DROP;
	if (r->fault == FAULT_TRUNCATE_TCP_REFUSED && tcp)
		return A_RESET;
	msg_start(m, q, cap, RC_NOERROR);
	if (!tcp && (r->fault == FAULT_TRUNCATE ||
	             r->fault == FAULT_TRUNCATE_TCP_REFUSED ||
	             r->fault == FAULT_HUGE_TXT)) {
		m->overflow = 1; /* answered below: TC and no records */
	} else if (r->fault == FAULT_CNAME_LOOP) {
		answer_loop(m, r, hop);
	} else if (r->fault == FAULT_CNAME_CHAIN) {
		put_chain(m, r, hop < 0 ? 0 : (unsigned)hop, q->qtype);
	} else {
		put_data(m, r, q->qtype, self, sizeof(self));
		if (r->fault == FAULT_HUGE_TXT) {
			put_huge(m, r, q->qtype, self, sizeof(self));
		}
	}
	return A_SEND;
}

/* Queries ------------------------------------------------------------- */

/* parse_query - header, one question, EDNS0; -1 drop, else an RCODE. */
static int
parse_query(const uint8_t *b, size_t len, struct query *q)
{
	size_t p = DNS_HDR, l;

	memset(q, 0, sizeof(*q));
	q->payload = DFAULTY_UDP_MIN;
	if (len < DNS_HDR || (b[2] & 0x80))
		return -1; /* too short, or a response: never answer */
	q->id = (uint16_t)(b[0] << 8 | b[1]);
	q->flags = (uint16_t)(b[2] << 8 | b[3]);
	if ((b[2] >> 3 & 0x0f) != 0)
		return RC_NOTIMP;
	if (b[4] != 0 || b[5] != 1)
		return RC_FORMERR;
	while (p < len && (l = b[p]) != 0) {
		if (l > DFAULTY_LABEL_MAX || p + 1 + l >= len ||
		    q->namelen + 1 + l + 1 > DFAULTY_NAME_MAX)
			return RC_FORMERR; /* compression, or too long */
		q->name[q->namelen++] = (uint8_t)l;
		for (p++; l > 0; l--)
			q->name[q->namelen++] = (uint8_t)tolower(b[p++]);
	}
	if (p + 5 > len)
		return RC_FORMERR;
	q->name[q->namelen++] = 0;
	p++;
	q->qtype = (uint16_t)(b[p] << 8 | b[p + 1]);
	q->question = b + DNS_HDR;
	q->qlen = p + 4 - DNS_HDR;
	p += 4;
	/* an OPT record right after the question: EDNS0 */
	if (b[6] == 0 && b[7] == 0 && b[8] == 0 && b[9] == 0 &&
	    (b[10] != 0 || b[11] != 0) && p + 11 <= len && b[p] == 0 &&
	    b[p + 1] == 0 && b[p + 2] == T_OPT) {
		size_t pl = (size_t)(b[p + 3] << 8 | b[p + 4]);

		q->edns = 1;
		q->payload = pl < DFAULTY_UDP_MIN   ? DFAULTY_UDP_MIN
		             : pl > DFAULTY_UDP_MAX ? DFAULTY_UDP_MAX
		                                    : pl;
	}
	return RC_NOERROR;
}

/* log_query - one line for the query: protocol, name, type, fault. */
static void
log_query(const struct query *q, int tcp, const struct rule *r)
{
	char text[DFAULTY_LOG_NAME_MAX + 8];
	size_t p = 0, o = 0, k;
	const char *fault = "refused (no rule)";

	while (p < q->namelen && q->name[p] != 0 && o < DFAULTY_LOG_NAME_MAX) {
		for (k = 1; k <= q->name[p] && o < DFAULTY_LOG_NAME_MAX; k++) {
			uint8_t c = q->name[p + k];

			if (c > 0x20 && c < 0x7f && c != '\\')
				text[o++] = (char)c;
			else
				o += (size_t)snprintf(text + o, 5, "\\%03u", c);
		}
		text[o++] = '.';
		p += 1 + q->name[p];
	}
	if (o == 0)
		text[o++] = '.'; /* the root */
	text[o] = 0;
	for (k = 0; r && k < sizeof(fault_table) / sizeof(fault_table[0]); k++)
		if (fault_table[k].fault == r->fault)
			fault = fault_table[k].word;
	fprintf(stderr, "dns-faulty: %s %s %u -> %s\n", tcp ? "tcp" : "udp",
	        text, (unsigned)q->qtype, fault);
}

/* handle - the answer to the query in b: action, with m filled in, and
 * how many milliseconds it should wait (slow). */
static enum action
handle(const struct rules *rs, const uint8_t *b, size_t len, int tcp,
       struct msg *m, int *wrong_id, unsigned *delay_ms)
{
	struct query q;
	const struct rule *r;
	enum action act;
	long hop;
	int rc = parse_query(b, len, &q);

	*wrong_id = 0;
	*delay_ms = 0;
	if (rc < 0)
		return A_DROP;
	if (rc != RC_NOERROR) {
		q.qlen = 0;
		msg_start(m, &q, DFAULTY_UDP_MIN, rc);
		msg_finish(m, &q, 0);
		return A_SEND;
	}
	r = rule_find(rs, &q, &hop);
	log_query(&q, tcp, r);
	if ((act = answer(r, hop, &q, tcp, m)) != A_SEND)
		return act;
	if (m->overflow) {
		/* too big, or truncated on purpose: TC and no records */
		size_t cap = m->cap;

		msg_start(m, &q, cap, RC_NOERROR);
		msg_finish(m, &q, 1);
	} else {
		msg_finish(m, &q, 0);
	}
	if (r != NULL && hop < 0)
		*wrong_id = r->fault == FAULT_WRONG_ID         ? 1
		            : r->fault == FAULT_WRONG_ID_NEVER ? 2
		                                               : 0;
	if (r != NULL && r->fault == FAULT_SLOW)
		*delay_ms = r->param;
	return A_SEND;
}

/* with_wrong_id - m with its ID changed (call twice to restore it). */
static void
with_wrong_id(struct msg *m)
{
	m->b[0] ^= DFAULTY_WRONG_ID_XOR >> 8;
	m->b[1] ^= DFAULTY_WRONG_ID_XOR & 0xff;
}

/* Sockets ------------------------------------------------------------- */

/* now_ms - CLOCK_MONOTONIC in milliseconds. */
static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* delay_add - hold m for to until delay_ms from now; -1 when it cannot
 * be held (the queue is full, or m is too long) and must go at once. */
static int
delay_add(struct delay_queue *dq, const struct msg *m,
          const struct sockaddr_in *to, socklen_t tolen, unsigned delay_ms)
{
	struct delayed *d;

	if (dq->n == DFAULTY_DELAYED_MAX || m->len > sizeof(d->b))
		return -1;
	d = &dq->d[dq->n++];
	d->due_ms = now_ms() + delay_ms;
	d->to = *to;
	d->tolen = tolen;
	d->len = m->len;
	memcpy(d->b, m->b, m->len);
	return 0;
}

/* delay_wait - how long poll() may sleep: at most max_ms, less when a
 * held answer is due sooner. */
static int
delay_wait(const struct delay_queue *dq, int max_ms)
{
	uint64_t now = now_ms();
	size_t i;
	int wait = max_ms;

	for (i = 0; i < dq->n; i++) {
		if (dq->d[i].due_ms <= now)
			return 0;
		if (dq->d[i].due_ms - now < (uint64_t)wait)
			wait = (int)(dq->d[i].due_ms - now);
	}
	return wait;
}

/* delay_send - send the held answers that are due, keep the others. */
static void
delay_send(int fd, struct delay_queue *dq)
{
	uint64_t now = now_ms();
	size_t i, k;

	for (i = k = 0; i < dq->n; i++) {
		struct delayed *d = &dq->d[i];

		if (d->due_ms > now) {
			if (k != i)
				memcpy(&dq->d[k], d, sizeof(*d));
			k++;
			continue;
		}
		(void)sendto(fd, d->b, d->len, 0, (struct sockaddr *)&d->to,
		             d->tolen);
	}
	dq->n = k;
}

/* serve_udp - read one datagram and answer it (or hold the answer). */
static void
serve_udp(int fd, const struct rules *rs, struct msg *m, struct delay_queue *dq)
{
	uint8_t buf[DFAULTY_MSG_MAX];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	ssize_t n;
	int wrong;
	unsigned delay;

	n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
	             (struct sockaddr *)&from, &flen);
	if (n <= 0 ||
	    handle(rs, buf, (size_t)n, 0, m, &wrong, &delay) != A_SEND)
		return;
	if (delay > 0 && delay_add(dq, m, &from, flen, delay) == 0)
		return;
	if (wrong) {
		with_wrong_id(m);
		(void)sendto(fd, m->b, m->len, 0, (struct sockaddr *)&from,
		             flen);
		with_wrong_id(m);
		if (wrong == 2)
			return;
	}
	(void)sendto(fd, m->b, m->len, 0, (struct sockaddr *)&from, flen);
}

/* tcp_send - one length-prefixed message; -1 when the peer is gone. */
static int
tcp_send(int fd, const struct msg *m)
{
	uint8_t pre[2] = {(uint8_t)(m->len >> 8), (uint8_t)m->len};

	if (send(fd, pre, 2, MSG_NOSIGNAL | MSG_MORE) != 2)
		return -1;
	return send(fd, m->b, m->len, MSG_NOSIGNAL) == (ssize_t)m->len ? 0 : -1;
}

/* tcp_reset - close c with a RST (SO_LINGER 0). */
static void
tcp_reset(int fd)
{
	struct linger lg = {1, 0};

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* serve_tcp - read from c, answer each whole query; -1: close c. */
static int
serve_tcp(struct conn *c, const struct rules *rs, struct msg *m)
{
	ssize_t n = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
	size_t qlen;
	int wrong;
	unsigned delay; /* TCP answers go at once */

	if (n <= 0)
		return -1;
	c->have += (size_t)n;
	while (c->have >= 2 &&
	       c->have >= 2 + (qlen = (size_t)(c->buf[0] << 8 | c->buf[1]))) {
		switch (handle(rs, c->buf + 2, qlen, 1, m, &wrong, &delay)) {
		case A_RESET:
			tcp_reset(c->fd);
			c->fd = -1;
			return -1;
		case A_DROP:
			break;
		case A_SEND:
			if (wrong) {
				with_wrong_id(m);
				if (tcp_send(c->fd, m) < 0)
					return -1;
				with_wrong_id(m);
			}
			if (wrong != 2 && tcp_send(c->fd, m) < 0)
				return -1;
			break;
		}
		memmove(c->buf, c->buf + 2 + qlen, c->have - 2 - qlen);
		c->have -= 2 + qlen;
	}
	return 0;
}

/*
 * accept_conn - a new TCP connection with a bounded send time, and a send
 * buffer that holds a few of the largest answers: the server is one
 * thread, so a slow reader (a client under valgrind) must not stall every
 * other query while a 64 KiB answer drains.
 */
static int
accept_conn(int tcp, struct conn *c)
{
	struct timeval tv = {DFAULTY_SEND_TIMEOUT, 0};
	int sndbuf = 4 * (DFAULTY_MSG_MAX + 2);

	if ((c->fd = accept(tcp, NULL, NULL)) < 0)
		return -1;
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	c->have = 0;
	return 0;
}

/* reload - read the rules again on SIGHUP (blocked, polled for). */
static void
reload(const char *path, struct rules **rs, struct rules **spare)
{
	struct rules *t;
	static const struct timespec zero = {0, 0};
	char err[DFAULTY_PATH_MAX + 128];
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	if (sigtimedwait(&set, NULL, &zero) != SIGHUP)
		return;
	if (rules_load(path, *spare, err, sizeof(err)) < 0) {
		fprintf(stderr,
		        "dns-faulty: reload refused, old rules kept: %s\n",
		        err);
		return;
	}
	/* swapped, not copied: each rule points into its own set's pool */
	(*spare)->generation = (*rs)->generation + 1;
	t = *rs;
	*rs = *spare;
	*spare = t;
	fprintf(stderr, "dns-faulty: loaded %zu rules (generation %u)\n",
	        (*rs)->n, (*rs)->generation);
}

/* serve - the event loop: UDP, the TCP listener, its connections, the
 * held answers of slow. */
static void
serve(int udp, int tcp, const char *path, struct rules *rs, struct rules *spare,
      struct msg *m, struct conn *conns, struct delay_queue *dq)
{
	struct pollfd fds[2 + DFAULTY_CONN_MAX];
	size_t n = 0, i;

	for (;;) {
		fds[0].fd = udp;
		fds[1].fd = tcp;
		fds[0].events = POLLIN;
		fds[1].events = n < DFAULTY_CONN_MAX ? POLLIN : 0;
		for (i = 0; i < n; i++) {
			fds[2 + i].fd = conns[i].fd;
			fds[2 + i].events = POLLIN;
		}
		if (poll(fds, 2 + n, delay_wait(dq, DFAULTY_POLL_MS)) < 0) {
			if (errno != EINTR)
				die("poll");
			continue;
		}
		delay_send(udp, dq);
		reload(path, &rs, &spare);
		if (fds[0].revents & POLLIN)
			serve_udp(udp, rs, m, dq);
		for (i = n; i-- > 0;) {
			if (fds[2 + i].revents == 0 ||
			    serve_tcp(&conns[i], rs, m) == 0)
				continue;
			if (conns[i].fd >= 0)
				close(conns[i].fd);
			/* keep the pollfd order: replace with the last one */
			memcpy(&conns[i], &conns[n - 1],
			       offsetof(struct conn, buf) + conns[n - 1].have);
			n--;
		}
		if ((fds[1].revents & POLLIN) && n < DFAULTY_CONN_MAX &&
		    accept_conn(tcp, &conns[n]) == 0)
			n++;
	}
}

int
main(int argc, char **argv)
{
	unsigned short port;
	int udp, tcp;
	struct rules *rs, *spare;
	struct msg *m;
	struct conn *conns;
	struct delay_queue *dq;
	char err[DFAULTY_PATH_MAX + 128];
	sigset_t set;

	if (argc != 3) {
		fprintf(stderr, "usage: dns-faulty RULESFILE PORTFILE\n");
		return 2;
	}
	rs = calloc(1, sizeof(*rs));
	spare = calloc(1, sizeof(*spare));
	m = calloc(1, sizeof(*m));
	conns = calloc(DFAULTY_CONN_MAX, sizeof(*conns));
	dq = calloc(1, sizeof(*dq));
	if (rs == NULL || spare == NULL || m == NULL || conns == NULL ||
	    dq == NULL)
		die("calloc");
	/* SIGHUP stays pending until the loop collects it */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		die("sigprocmask");
	if (rules_load(argv[1], rs, err, sizeof(err)) < 0) {
		fprintf(stderr, "dns-faulty: %s\n", err);
		free(rs);
		free(spare);
		free(m);
		free(conns);
		free(dq);
		return 1;
	}
	fprintf(stderr, "dns-faulty: loaded %zu rules (generation 0)\n", rs->n);
	port = lo_listen_pair("dns-faulty", &udp, &tcp);
	lo_write_port("dns-faulty", argv[2], port);
	serve(udp, tcp, argv[1], rs, spare, m, conns, dq);
	return 0;
}
