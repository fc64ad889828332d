/*
 * spf.h - SPF (RFC 7208): record parsing, macro expansion, the
 * asynchronous check_host() and record validation for readiness.
 *
 * SYNOPSIS
 *	#include "spf.h"
 *
 *	The functions: see spf.c.
 *
 * DESCRIPTION
 *	spf_parse() turns one record into a bounded list of terms (pure; the
 *	record bytes must outlive the result, terms point into them).
 *	spf_macro_expand() expands a macro-string (section 7) from a context
 *	(pure).  spf_check_host() evaluates a policy for (ip, domain, sender,
 *	helo) through a struct resolver and calls back once with the result.
 *	spf_validate() inspects the policy at a MAIL FROM domain the way a
 *	careful operator would and fills a readiness check_result.
 *
 *	The asynchronous functions share readiness_start()'s convention: 0
 *	means lookups are under way and done runs exactly once, later, from a
 *	resolver callback; 1 means the result was complete at once (no lookup
 *	was needed, or none could be queued) and done is not called.
 */
#ifndef AUTHREADY_SPF_H
#define AUTHREADY_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "domainname.h"
#include "resolver.h"

struct check_result;

#define SPF_RECORD_MAX 4096  /* bytes of one record we evaluate */
#define SPF_TERMS_MAX 256    /* terms in one record */
#define SPF_DNS_TERMS_MAX 10 /* section 4.6.4: DNS-querying terms */
#define SPF_VOID_MAX 2       /* section 4.6.4: void lookups */
#define SPF_NAMES_MAX 10     /* section 4.6.4: MX and PTR names */
#define SPF_DEPTH_MAX (SPF_DNS_TERMS_MAX + 1) /* include nesting */
#define SPF_TIMEOUT_MS_DEFAULT 20000          /* section 4.6.4 */
#define SPF_REASON_MAX 512
#define SPF_EXPLANATION_MAX 512
#define SPF_TERM_TEXT_MAX 128    /* a term quoted in a reason */
#define SPF_SENDER_MAX 512       /* MAIL FROM address we accept */
#define SPF_EXPAND_MAX 2048      /* macro expansion output */
#define SPF_RECORD_SIZE_WARN 450 /* section 3.4: fits in 512-byte UDP */
#define SPF_EGRESS_MAX 16        /* egress addresses or ranges */
#define SPF_PROBES_MAX 32        /* check_host() runs for the egress */
#define SPF_NETS_MAX 256 /* ip4/ip6 networks spf_validate keeps as cuts */
#define SPF_WALK_MAX 64  /* records and names spf_validate visits */

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

enum spf_mech {
	SPF_MECH_ALL,
	SPF_MECH_INCLUDE,
	SPF_MECH_A,
	SPF_MECH_MX,
	SPF_MECH_PTR,
	SPF_MECH_IP4,
	SPF_MECH_IP6,
	SPF_MECH_EXISTS,
	SPF_MOD_REDIRECT,
	SPF_MOD_EXP,
	SPF_MOD_UNKNOWN,
};

/* An address as check_host() sees it; IPv4-mapped IPv6 becomes IPv4. */
struct spf_addr {
	int family;          /* AF_INET or AF_INET6 */
	unsigned char a[16]; /* 4 or 16 octets */
};

/* An egress address or range: net/bits, host bits clear (bits 32 or 128:
 * one address). */
struct spf_range {
	struct spf_addr net;
	unsigned bits;
};

/* One term; offsets index the record passed to spf_parse(). */
struct spf_term {
	enum spf_mech mech;
	enum spf_result qual; /* PASS, FAIL, SOFTFAIL, NEUTRAL */
	uint16_t off, len;    /* the whole term */
	uint16_t arg_off,
	    arg_len;          /* domain-spec or modifier value; 0 len: none */
	uint8_t cidr4, cidr6; /* a, mx, ip4, ip6 (defaults 32 and 128) */
	struct spf_addr net;  /* ip4, ip6 */
};

struct spf_record {
	size_t nterms;
	struct spf_term terms[SPF_TERMS_MAX];
	int redirect;       /* index of redirect=, -1 when absent */
	int exp;            /* index of exp=, -1 when absent */
	int all;            /* index of the first all, -1 when absent */
	unsigned dns_terms; /* include a mx ptr exists, + redirect if used */
};

/*
 * spf_is_record - section 4.5: starts with "v=spf1" (any case) followed
 * by a space or the end.
 */
bool spf_is_record(const unsigned char *buf, size_t len);

/* spf_parse - 0 ok; -1 (permerror) with a sentence naming the term. */
int spf_parse(const unsigned char *buf, size_t len, struct spf_record *out,
              char *err, size_t errlen);

/* Values the macro letters expand to (section 7.2). */
struct spf_macro_ctx {
	const char *sender;        /* s: local@domain, postmaster substituted */
	const char *local;         /* l */
	const char *sender_domain; /* o */
	const char *domain;        /* d: the current <domain> */
	const char *helo;          /* h */
	const char *p;        /* p: validated name; NULL when not known yet */
	const char *receiver; /* r: NULL gives "unknown" */
	time_t now;           /* t */
	struct spf_addr ip;   /* i, c, v */
};

#define SPF_MACRO_NEED_P 1 /* spf_macro_expand: ctx->p must be found first */

/*
 * spf_macro_expand - expand a macro-string into out (NUL-terminated).
 * exp allows c, r, t and spaces (explanation text).  Returns 0, -1 with
 * err on a bad macro (or output over outlen, *truncated then set when
 * truncated is not NULL and out holds the cut text), or SPF_MACRO_NEED_P.
 */
int spf_macro_expand(const char *in, size_t inlen,
                     const struct spf_macro_ctx *ctx, bool exp, char *out,
                     size_t outlen, bool *truncated, char *err, size_t errlen);

/*
 * spf_target_name - section 7.3 and 4.3: drop one trailing dot, cut
 * leading labels until at most 253 bytes remain, then check that every
 * label is 1..63 bytes.  0 ok (name rewritten in place), -1 when the
 * name cannot be looked up.
 */
int spf_target_name(char *name);

/* spf_addr_parse - IPv4 or IPv6 text; ::ffff:a.b.c.d becomes IPv4
 * (netlist_addr_parse); 0 or -1. */
int spf_addr_parse(const char *text, struct spf_addr *out);

/* spf_range_parse - an address with an optional "/prefix" (host bits
 * allowed: the network it lies in); an IPv4-mapped prefix shorter than
 * /96 is refused.  0 or -1. */
int spf_range_parse(const char *text, struct spf_range *out);

const char *spf_result_name(enum spf_result r);

struct spf_request {
	struct spf_addr ip;
	const char *sender;   /* MAIL FROM address; "" for the null sender */
	const char *helo;     /* HELO/EHLO name */
	const char *domain;   /* NULL: the sender's domain (or helo) */
	const char *receiver; /* %{r}; NULL gives "unknown" */
	time_t now;           /* %{t}; 0 takes time(NULL) */
	unsigned timeout_ms;  /* overall limit; 0 takes the default */
};

struct spf_outcome {
	enum spf_result result;
	char domain[DOMAIN_BUF];               /* where evaluation started */
	char mechanism[SPF_TERM_TEXT_MAX];     /* term that decided, or "" */
	char reason[SPF_REASON_MAX];           /* one sentence, printable */
	char explanation[SPF_EXPLANATION_MAX]; /* fail only; may be "" */
	unsigned dns_terms;                    /* DNS-querying terms used */
	unsigned void_lookups;
};

typedef void (*spf_done_cb)(void *arg, struct spf_outcome *out);

/*
 * spf_check_host - section 4 on res.  req's strings are copied; out must
 * live until done runs (or is filled when 1 is returned).
 */
int spf_check_host(const struct resolver *res, const struct spf_request *req,
                   struct spf_outcome *out, spf_done_cb done, void *arg);

struct spf_validate_request {
	char domain[DOMAIN_BUF]; /* MAIL FROM domain, normalized */
	struct spf_range egress[SPF_EGRESS_MAX]; /* every address must pass */
	size_t negress;
	char include[DOMAIN_BUF]; /* "" or a domain that must be included */
	unsigned timeout_ms;      /* per check_host; 0: default */
};

typedef void (*spf_validate_cb)(void *arg, struct check_result *res);

/*
 * spf_validate - fill res (type CHECK_SPF, name, status, expected, seen,
 * detail) for the policy at req->domain: record selection, syntax, the
 * recursive count of DNS-querying terms, void lookups, include and
 * redirect loops, ptr, +all and ?all, terms after all, size; then
 * check_host() must pass for every egress address and the include tree
 * must reach req->include.  An egress range is probed at its first and
 * last address and wherever an ip4/ip6 network of the walked tree
 * begins, or ends before, inside it: exact for the ip4/ip6 terms, while
 * a, mx, ptr, exists and macros are judged at those probes only; more
 * than SPF_PROBES_MAX probes fail.  res must live until done runs.
 */
int spf_validate(const struct resolver *resv,
                 const struct spf_validate_request *req,
                 struct check_result *res, spf_validate_cb done, void *arg);

#endif
