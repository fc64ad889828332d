/*
 * NAME
 *	fuzz_policy - libFuzzer target for the policy lists and decision
 * SYNOPSIS
 *	make -f fuzz/Makefile.fuzz top_srcdir=. builddir=BUILD all
 *	BUILD/fuzz/fuzz_policy -dict=fuzz/dict/fuzz_policy.dict CORPUS
 * DESCRIPTION
 *	The first three input bytes are switches: byte 0 the flags of the
 *	policy_input and the mode, byte 1 the readiness state (out-of-range
 *	values included), UnregisteredDomains and OutboundBy, byte 2 the
 *	action of each On<Situation> key (through the key's own parser, so
 *	a refused value keeps the default).  The rest is cut at "\n==\n"
 *	into, in order: InternalHosts, ExemptSenders, ExemptDomains,
 *	DomainActions (each parsed inline and as a list file), the sender,
 *	the domain, the first problem, the RejectReply template and a
 *	client address.  Every part goes to its parser in a heap block of
 *	exactly its size; then policy_decide() judges the input in every
 *	readiness state.
 *
 *	Aborts when a result breaks the contract of policy.h and netlist.h:
 *	a refused list that changed its target, a refusal without a
 *	printable sentence (prefixed "FILE:" for a file), counts or pool
 *	offsets out of bounds, an accepted reply template with a bare '%';
 *	a decision with an action out of range, a would_be that differs
 *	from the action outside monitor, a reply code that does not match
 *	would_be, a 550 from no state, a stale state or DNS trouble, mail
 *	out of scope or a null sender not accepted, unprintable reason, tag
 *	or reply text, a '%' not doubled in the reply text, or netlist
 *	matching by text and by socket address that disagree.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "netlist.h"
#include "policy.h"

#define FUZZ_PARTS 9
#define FUZZ_SEP "\n==\n"
#define FUZZ_ORIGIN "list.txt"

enum fuzz_part_name {
	PART_HOSTS,
	PART_SENDERS,
	PART_DOMAINS,
	PART_OVERRIDES,
	PART_SENDER,
	PART_DOMAIN,
	PART_PROBLEM,
	PART_REPLY,
	PART_CLIENT,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_err - a refusal is one printable sentence, origin first. */
static void
check_err(const char *err, size_t size, const char *origin)
{
	fuzz_printable(err, size);
	if (err[0] == '\0' ||
	    (origin != NULL && strncmp(err, origin, strlen(origin)) != 0))
		abort();
}

/* check_entries - every name of a table lies NUL-terminated in its pool. */
static void
check_entries(const struct policy_entry *e, uint32_t count, uint32_t emax,
              const char *pool, uint32_t used, uint32_t pmax)
{
	uint32_t i;

	if (count > emax || used > pmax)
		abort();
	for (i = 0; i < count; i++)
		if ((uint64_t)e[i].off + e[i].len >= used ||
		    pool[e[i].off + e[i].len] != '\0' ||
		    strlen(pool + e[i].off) != e[i].len)
			abort();
}

/* check_netlist - bounded count and prefixes. */
static void
check_netlist(const struct netlist *nl)
{
	uint32_t i;

	if (nl->count > NETLIST_MAX)
		abort();
	for (i = 0; i < nl->count; i++)
		if (nl->e[i].prefix > 128 ||
		    (nl->e[i].v4 && nl->e[i].prefix < 96))
			abort();
}

/* fuzz_netlist - InternalHosts inline; unchanged on error. */
static void
fuzz_netlist(struct policy_config *pc, struct fuzz_part part)
{
	static struct netlist before;
	char *buf = fuzz_dup(part.p, part.n), err[512];

	before = pc->internal_hosts;
	err[0] = '\0';
	if (netlist_parse(&pc->internal_hosts, buf, part.n, err, sizeof(err)) !=
	    0) {
		check_err(err, sizeof(err), NULL);
		if (memcmp(&before, &pc->internal_hosts, sizeof(before)) != 0)
			abort();
	}
	check_netlist(&pc->internal_hosts);
	free(buf);
}

/* fuzz_exempt - one exempt list, as a file then inline. */
static void
fuzz_exempt(struct policy_exempt *t, struct fuzz_part part, int senders)
{
	static struct policy_exempt before;
	static const char *const origins[] = {FUZZ_ORIGIN, NULL};
	char *buf = fuzz_dup(part.p, part.n), err[512];
	size_t i;
	int rc;

	for (i = 0; i < 2; i++) {
		before = *t;
		err[0] = '\0';
		rc = senders ? policy_exempt_senders_parse(
		                   t, buf, part.n, origins[i], err, sizeof(err))
		             : policy_exempt_domains_parse(t, buf, part.n,
		                                           origins[i], err,
		                                           sizeof(err));
		if (rc != 0) {
			check_err(err, sizeof(err), origins[i]);
			if (memcmp(&before, t, sizeof(before)) != 0)
				abort();
		}
		check_entries(t->e, t->count, POLICY_EXEMPT_MAX, t->pool,
		              t->used, POLICY_EXEMPT_POOL);
	}
	free(buf);
}

/* fuzz_overrides - DomainActions, as a file then inline. */
static void
fuzz_overrides(struct policy_overrides *t, struct fuzz_part part)
{
	static struct policy_overrides before;
	static const char *const origins[] = {FUZZ_ORIGIN, NULL};
	char *buf = fuzz_dup(part.p, part.n), err[512];
	uint32_t j;
	size_t i;

	for (i = 0; i < 2; i++) {
		before = *t;
		err[0] = '\0';
		if (policy_overrides_parse(t, buf, part.n, origins[i], err,
		                           sizeof(err)) != 0) {
			check_err(err, sizeof(err), origins[i]);
			if (memcmp(&before, t, sizeof(before)) != 0)
				abort();
		}
		check_entries(t->e, t->count, POLICY_OVERRIDES_MAX, t->pool,
		              t->used, POLICY_OVERRIDES_POOL);
		for (j = 0; j < t->count; j++)
			if (t->e[j].action >= POLICY_ACTIONS ||
			    (t->e[j].scope >= POLICY_SITUATIONS &&
			     t->e[j].scope != POLICY_SCOPE_ALL))
				abort();
	}
	free(buf);
}

/* fuzz_reply - RejectReply; an accepted template has no bare '%'. */
static void
fuzz_reply(struct policy_config *pc, struct fuzz_part part)
{
	char *buf = fuzz_dup(part.p, part.n), err[512], out[POLICY_REPLY_MAX];
	size_t i;

	err[0] = '\0';
	if (policy_parse_reply(buf, part.n, out, sizeof(out), err,
	                       sizeof(err)) != 0) {
		check_err(err, sizeof(err), NULL);
		free(buf);
		return;
	}
	fuzz_printable(out, sizeof(out));
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] == '%' &&
		    (out[++i] == '\0' || strchr("drs%", out[i]) == NULL))
			abort();
	memcpy(pc->reject_reply, out, sizeof(out));
	free(buf);
}

/* fuzz_on - On<Situation> values from the bits of sw. */
static void
fuzz_on(struct policy_config *pc, uint8_t sw)
{
	static const char *const names[8] = {
	    "accept", "tempfail", "reject",  "quarantine",
	    "tag",    "monitor",  "Reject ", "bogus"};
	unsigned s;
	char err[256];

	for (s = 0; s < POLICY_SITUATIONS; s++) {
		const char *v = names[(sw >> s) & 7];

		(void)policy_parse_situation_action(s, v, strlen(v), &pc->on[s],
		                                    err, sizeof(err));
	}
}

/* check_client - netlist matching by text and by address agree. */
static void
check_client(const struct policy_config *pc, const char *text)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	bool by_text = netlist_match_text(&pc->internal_hosts, text);

	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	s4.sin_family = AF_INET;
	s6.sin6_family = AF_INET6;
	if (inet_pton(AF_INET, text, &s4.sin_addr) == 1) {
		if (netlist_match(&pc->internal_hosts,
		                  (const struct sockaddr *)&s4) != by_text)
			abort();
		(void)policy_outbound(pc, (const struct sockaddr *)&s4, text);
	} else if (inet_pton(AF_INET6, text, &s6.sin6_addr) == 1) {
		if (netlist_match(&pc->internal_hosts,
		                  (const struct sockaddr *)&s6) != by_text)
			abort();
		(void)policy_outbound(pc, (const struct sockaddr *)&s6, NULL);
	}
}

/* check_text - the milter reply: printable, every '%' doubled. */
static void
check_text(const char *text, size_t size)
{
	size_t i;

	fuzz_printable(text, size);
	for (i = 0; text[i] != '\0'; i++)
		if (text[i] == '%' && text[++i] != '%')
			abort();
}

/* check_decision - the promises of policy.h for one decision. */
static void
check_decision(const struct policy_input *in, const struct policy_decision *d)
{
	bool rej = d->would_be == POLICY_REJECT;
	bool tmp = d->would_be == POLICY_TEMPFAIL;
	bool fresh = in->have_state && in->state > READINESS_UNKNOWN &&
	             in->state <= READINESS_FAILED && !in->stale &&
	             !in->dns_trouble;

	if ((unsigned)d->action >= POLICY_ACTIONS ||
	    (unsigned)d->would_be >= POLICY_ACTIONS ||
	    d->would_be == POLICY_MONITOR || d->source == NULL ||
	    (d->action != POLICY_MONITOR && d->action != d->would_be))
		abort();
	if (strcmp(d->smtp_code, rej   ? "550"
	                         : tmp ? "451"
	                               : "") != 0 ||
	    (rej && strcmp(d->xcode, "5.7.1") != 0) ||
	    (tmp && strncmp(d->xcode, "4.", 2) != 0))
		abort();
	if (rej && d->judged && !fresh)
		abort();
	if (in->dns_trouble && tmp && strcmp(d->xcode, "4.4.3") != 0)
		abort();
	if ((!in->outbound || in->null_sender) &&
	    (d->action != POLICY_ACCEPT || d->judged))
		abort();
	if (!in->outbound && d->log)
		abort();
	if (policy_sends_reply(d) && d->action != POLICY_TEMPFAIL &&
	    d->action != POLICY_REJECT)
		abort();
	check_text(d->text, sizeof(d->text));
	fuzz_printable(d->reason, sizeof(d->reason));
	fuzz_printable(d->tag_value, sizeof(d->tag_value));
}

/* fuzz_decide - policy_decide() in every state, with and without one. */
static void
fuzz_decide(const struct policy_config *pc, struct policy_input *in,
            uint8_t state_bits)
{
	struct policy_decision d;
	unsigned s;

	for (s = 0; s <= READINESS_FAILED + 1; s++) {
		in->state = (enum domain_readiness)(
		    s <= READINESS_FAILED ? s : state_bits & 7);
		policy_decide(pc, in, &d);
		check_decision(in, &d);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy_config pc;
	struct fuzz_part parts[FUZZ_PARTS];
	struct policy_input in;
	char *sender, *domain, *problem, *client;
	uint8_t flags, sw;

	if (size < 3)
		return 0;
	flags = data[0];
	sw = data[1];
	fuzz_split(data + 3, size - 3, FUZZ_SEP, parts, FUZZ_PARTS);
	policy_config_defaults(&pc);
	pc.mode = flags & 0x80 ? POLICY_MODE_MONITOR : POLICY_MODE_ENFORCE;
	pc.unregistered = (enum policy_unregistered)((sw >> 3) % 3);
	pc.outbound_by = (enum policy_outbound_by)((sw >> 5) & 3);
	fuzz_on(&pc, data[2]);
	fuzz_netlist(&pc, parts[PART_HOSTS]);
	fuzz_exempt(&pc.exempt_senders, parts[PART_SENDERS], 1);
	fuzz_exempt(&pc.exempt_domains, parts[PART_DOMAINS], 0);
	fuzz_overrides(&pc.overrides, parts[PART_OVERRIDES]);
	fuzz_reply(&pc, parts[PART_REPLY]);

	sender = fuzz_strdup(parts[PART_SENDER].p, parts[PART_SENDER].n);
	domain = fuzz_strdup(parts[PART_DOMAIN].p, parts[PART_DOMAIN].n);
	problem = fuzz_strdup(parts[PART_PROBLEM].p, parts[PART_PROBLEM].n);
	client = fuzz_strdup(parts[PART_CLIENT].p, parts[PART_CLIENT].n);
	check_client(&pc, client);

	memset(&in, 0, sizeof(in));
	in.outbound = !(flags & 0x01);
	in.null_sender = flags & 0x02;
	in.sender = flags & 0x04 ? NULL : sender;
	in.domain = flags & 0x08 ? NULL : domain;
	in.registered = !(flags & 0x10);
	in.have_state = !(flags & 0x20);
	in.stale = flags & 0x40;
	in.dns_trouble = sw & 0x01;
	in.check_timed_out = sw & 0x02;
	in.first_problem = sw & 0x04 ? NULL : problem;
	fuzz_decide(&pc, &in, sw);

	free(sender);
	free(domain);
	free(problem);
	free(client);
	return 0;
}
