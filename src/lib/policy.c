/*
 * policy.c - (readiness, config) -> milter action and SMTP reply.
 *
 * SYNOPSIS
 *	void policy_config_defaults(struct policy_config *pc);
 *	void policy_decide(const struct policy_config *pc,
 *	    const struct policy_input *in, struct policy_decision *d);
 *	bool policy_outbound(const struct policy_config *pc,
 *	    const struct sockaddr *client, const char *auth_authen);
 *	and one parser per key (policy.h), which configfile.c's table of
 *	keys calls.
 *
 * DESCRIPTION
 *	policy_decide() runs the steps listed in policy.h: scope, null
 *	sender, exemptions, registry, then the readiness situation.  The
 *	action of a situation comes from three layers, most specific first:
 *	DomainActions, On<Situation>, the built-in default (policy_default[]).
 *	All the ways a readiness decision can end in a refusal go through
 *	policy_clamp(), the one place that keeps a temporary or stale state
 *	from producing a 5xx, and all replies are built by policy_reply().
 *
 *	Name tables (exempt senders and domains, DomainActions) are sorted
 *	arrays of offsets into a fixed pool, so a config snapshot holding
 *	them can be copied as a plain value; lookups are binary searches,
 *	one per label of the domain (mail.example.com, example.com, com),
 *	so "notexample.com" never matches "example.com".
 *
 *	The module does no I/O: configfile.c reads the list files and hands
 *	their text to the list parsers.
 *
 * DIAGNOSTICS
 *	Parsers return -1 with a sentence in err that quotes the bad value
 *	through sanitize_text(); list files add "FILE:LINE: ".
 */
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "revpath.h"
#include "sanitize.h"
#include "text.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define POLICY_QUOTE_MAX 80
#define POLICY_MSG_MAX 512
#define POLICY_WORDS_MAX 3 /* "domain action situation" */
#define POLICY_ELLIPSIS "..."

struct policy_name {
	const char *name;
	int value;
};

static const char *const policy_action_names[POLICY_ACTIONS] = {
    [POLICY_ACCEPT] = "accept", [POLICY_TEMPFAIL] = "tempfail",
    [POLICY_REJECT] = "reject", [POLICY_QUARANTINE] = "quarantine",
    [POLICY_TAG] = "tag",       [POLICY_MONITOR] = "monitor",
};

static const char *const policy_situation_names[POLICY_SITUATIONS] = {
    [POLICY_ON_UNKNOWN] = "unknown",   [POLICY_ON_PENDING] = "pending",
    [POLICY_ON_VERIFIED] = "verified", [POLICY_ON_DEGRADED] = "degraded",
    [POLICY_ON_FAILED] = "failed",     [POLICY_ON_DNSERROR] = "dnserror",
};

static const char *const policy_situation_keys[POLICY_SITUATIONS] = {
    [POLICY_ON_UNKNOWN] = "OnUnknown",   [POLICY_ON_PENDING] = "OnPending",
    [POLICY_ON_VERIFIED] = "OnVerified", [POLICY_ON_DEGRADED] = "OnDegraded",
    [POLICY_ON_FAILED] = "OnFailed",     [POLICY_ON_DNSERROR] = "OnDNSError",
};

/* The built-in action of each situation (DESIGN.md, readiness states). */
static const enum policy_action policy_default[POLICY_SITUATIONS] = {
    [POLICY_ON_UNKNOWN] = POLICY_TEMPFAIL,
    [POLICY_ON_PENDING] = POLICY_REJECT,
    [POLICY_ON_VERIFIED] = POLICY_ACCEPT,
    [POLICY_ON_DEGRADED] = POLICY_ACCEPT,
    [POLICY_ON_FAILED] = POLICY_REJECT,
    [POLICY_ON_DNSERROR] = POLICY_TEMPFAIL,
};

static const struct policy_name policy_unreg_names[] = {
    {"check", POLICY_UNREG_CHECK},
    {"reject", POLICY_UNREG_REJECT},
    {"accept", POLICY_UNREG_ACCEPT},
};

static const struct policy_name policy_mode_names[] = {
    {"enforce", POLICY_MODE_ENFORCE},
    {"monitor", POLICY_MODE_MONITOR},
};

static const struct policy_name policy_outbound_names[] = {
    {"either", POLICY_OUT_EITHER},
    {"hosts", POLICY_OUT_HOSTS},
    {"auth", POLICY_OUT_AUTH},
    {"both", POLICY_OUT_BOTH},
};

/* What %r says when the input names no record. */
#define POLICY_R_UNREGISTERED "its registration (the domain is not registered)"
#define POLICY_R_RECORDS "the required DNS records"
#define POLICY_R_CHECKING "readiness check in progress"
#define POLICY_R_DNS "DNS lookup trouble"

/* ---------------------------------------------------------------- */
/* Small helpers */

/* policy_lookup - value of a word in a name table; -1 when absent. */
static int
policy_lookup(const struct policy_name *t, size_t n, const char *buf,
              size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (text_ieq(buf, len, t[i].name))
			return t[i].value;
	return -1;
}

/* policy_trim - strip white space around buf[0..*len). */
static const char *
policy_trim(const char *buf, size_t *len)
{
	while (*len > 0 && (buf[0] == ' ' || buf[0] == '\t' || buf[0] == '\r'))
		buf++, (*len)--;
	while (*len > 0 && (buf[*len - 1] == ' ' || buf[*len - 1] == '\t' ||
	                    buf[*len - 1] == '\r'))
		(*len)--;
	return buf;
}

const char *
policy_action_name(enum policy_action a)
{
	if ((size_t)a >= NELEM(policy_action_names))
		return "invalid";
	return policy_action_names[a];
}

const char *
policy_situation_name(unsigned s)
{
	if (s == POLICY_SCOPE_ALL)
		return "all";
	if (s >= NELEM(policy_situation_names))
		return "invalid";
	return policy_situation_names[s];
}

void
policy_config_defaults(struct policy_config *pc)
{
	memset(pc, 0, sizeof(*pc));
	pc->mode = POLICY_MODE_ENFORCE;
	memcpy(pc->on, policy_default, sizeof(pc->on));
	pc->unregistered = POLICY_UNREG_CHECK;
	pc->outbound_by = POLICY_OUT_EITHER;
	netlist_loopback(&pc->internal_hosts);
	snprintf(pc->reject_reply, sizeof(pc->reject_reply), "%s",
	         POLICY_REJECT_DEFAULT);
	snprintf(pc->tempfail_reply, sizeof(pc->tempfail_reply), "%s",
	         POLICY_TEMPFAIL_DEFAULT);
	snprintf(pc->dnserror_reply, sizeof(pc->dnserror_reply), "%s",
	         POLICY_DNSERROR_DEFAULT);
	snprintf(pc->tag_header, sizeof(pc->tag_header), "%s",
	         POLICY_TAG_HEADER_DEFAULT);
}

/* ---------------------------------------------------------------- */
/* Sorted name tables */

/* A table seen independently of its bounds. */
struct policy_tab {
	struct policy_entry *e;
	uint32_t *count, *used;
	uint32_t emax, pmax;
	char *pool;
};

#define POLICY_TAB(t)                                                          \
	((struct policy_tab){(t)->e, &(t)->count, &(t)->used, NELEM((t)->e),   \
	                     sizeof((t)->pool), (t)->pool})

/* policy_tab_cmp - order by name octets, then length, then scope. */
static int
policy_tab_cmp(const struct policy_entry *e, const char *pool, const char *name,
               size_t len, unsigned scope)
{
	size_t n = e->len < len ? e->len : len;
	int c = memcmp(pool + e->off, name, n);

	if (c != 0)
		return c;
	if (e->len != len)
		return e->len < len ? -1 : 1;
	return (int)e->scope - (int)scope;
}

/* policy_tab_search - index of (name, scope), or where it would go. */
static uint32_t
policy_tab_search(const struct policy_entry *e, uint32_t count,
                  const char *pool, const char *name, size_t len,
                  unsigned scope, bool *found)
{
	uint32_t lo = 0, hi = count, mid;
	int c;

	*found = false;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = policy_tab_cmp(&e[mid], pool, name, len, scope);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* policy_tab_insert - 0 ok, -1 full, -2 duplicate. */
static int
policy_tab_insert(struct policy_tab t, const char *name, size_t len,
                  unsigned action, unsigned scope)
{
	uint32_t at;
	bool found;

	at = policy_tab_search(t.e, *t.count, t.pool, name, len, scope, &found);
	if (found)
		return -2;
	if (*t.count >= t.emax || len > UINT8_MAX ||
	    (size_t)t.pmax - *t.used < len + 1)
		return -1;
	memmove(&t.e[at + 1], &t.e[at], (*t.count - at) * sizeof(t.e[0]));
	memcpy(t.pool + *t.used, name, len);
	t.pool[*t.used + len] = '\0';
	t.e[at].off = *t.used;
	t.e[at].len = (uint8_t)len;
	t.e[at].action = (uint8_t)action;
	t.e[at].scope = (uint8_t)scope;
	t.e[at].unused = 0;
	*t.used += (uint32_t)len + 1;
	(*t.count)++;
	return 0;
}

/* policy_tab_get - the entry for (name, scope) or NULL. */
static const struct policy_entry *
policy_tab_get(const struct policy_entry *e, uint32_t count, uint32_t emax,
               const char *pool, const char *name, unsigned scope)
{
	uint32_t at;
	bool found;

	if (count > emax)
		return NULL;
	at = policy_tab_search(e, count, pool, name, strlen(name), scope,
	                       &found);
	return found ? &e[at] : NULL;
}

/* policy_parent - the name without its first label; NULL at the top. */
static const char *
policy_parent(const char *name)
{
	const char *dot = strchr(name, '.');

	return dot != NULL && dot[1] != '\0' ? dot + 1 : NULL;
}

/* policy_exempt_domain - domain is, or is below, an exempt domain. */
static bool
policy_exempt_domain(const struct policy_exempt *t, const char *domain)
{
	const char *p;

	for (p = domain; p != NULL; p = policy_parent(p))
		if (policy_tab_get(t->e, t->count, NELEM(t->e), t->pool, p,
		                   0) != NULL)
			return true;
	return false;
}

/* policy_override - the most specific DomainActions entry, or NULL. */
static const struct policy_entry *
policy_override(const struct policy_overrides *t, const char *domain,
                unsigned situation)
{
	const struct policy_entry *e;
	const char *p;

	for (p = domain; p != NULL; p = policy_parent(p)) {
		if (situation != POLICY_SCOPE_ALL &&
		    (e = policy_tab_get(t->e, t->count, NELEM(t->e), t->pool, p,
		                        situation)) != NULL)
			return e;
		if ((e = policy_tab_get(t->e, t->count, NELEM(t->e), t->pool, p,
		                        POLICY_SCOPE_ALL)) != NULL)
			return e;
	}
	return NULL;
}

/* policy_sender_canon - "local@domain" with the domain normalized. */
static int
policy_sender_canon(const char *buf, size_t len, char *out, size_t outlen)
{
	char dom[DOMAIN_BUF], msg[POLICY_QUOTE_MAX];
	const char *at = NULL;
	size_t i, local;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c <= 0x20 || c >= 0x7f || c == ',')
			return -1;
		if (c == '@')
			at = buf + i;
	}
	if (at == NULL || at == buf)
		return -1;
	local = (size_t)(at - buf);
	if (domain_normalize(at + 1, len - local - 1, dom, sizeof(dom), msg,
	                     sizeof(msg)) != 0)
		return -1;
	if (local + 1 + strlen(dom) >= outlen)
		return -1;
	memcpy(out, buf, local + 1);
	memcpy(out + local + 1, dom, strlen(dom) + 1);
	return 0;
}

/* ---------------------------------------------------------------- */
/* The decision */

/* policy_key_domain - the lookup form of a domain (ASCII lowercase, no
 * root dot) into out; "" when it cannot be a domain name. */
static const char *
policy_key_domain(const char *domain, char out[DOMAIN_BUF])
{
	size_t i, n = domain != NULL ? strnlen(domain, DOMAIN_BUF + 1) : 0;

	if (n > 0 && domain[n - 1] == '.')
		n--;
	if (n > DOMAIN_MAX)
		n = 0;
	for (i = 0; i < n; i++)
		out[i] = (char)text_lower((unsigned char)domain[i]);
	out[n] = '\0';
	return out;
}

/* policy_exempt_reason - why sender or domain (a lookup key) is exempt,
 * or NULL. */
static const char *
policy_exempt_reason(const struct policy_config *pc, const char *sender,
                     const char *domain)
{
	char canon[POLICY_ADDRESS_MAX];
	const char *at;

	if (pc->exempt_senders.count == 0 && pc->exempt_domains.count == 0)
		return NULL; /* the usual case: nothing to normalize */
	if (sender != NULL && policy_sender_canon(sender, strlen(sender), canon,
	                                          sizeof(canon)) == 0) {
		if (policy_tab_get(pc->exempt_senders.e,
		                   pc->exempt_senders.count,
		                   NELEM(pc->exempt_senders.e),
		                   pc->exempt_senders.pool, canon, 0) != NULL)
			return "exempt sender";
		at = strrchr(canon, '@');
		if (policy_exempt_domain(&pc->exempt_domains, at + 1))
			return "exempt domain";
	}
	if (domain[0] != '\0' &&
	    policy_exempt_domain(&pc->exempt_domains, domain))
		return "exempt domain";
	return NULL;
}

/* policy_situation_of - which On<Situation> the input falls in. */
static enum policy_situation
policy_situation_of(const struct policy_input *in)
{
	bool known = in->have_state && in->state > READINESS_UNKNOWN &&
	             in->state <= READINESS_FAILED;

	if (known)
		return (enum policy_situation)in->state;
	return in->dns_trouble ? POLICY_ON_DNSERROR : POLICY_ON_UNKNOWN;
}

/* policy_valid_action - a stored action value this module knows. */
static enum policy_action
policy_valid_action(unsigned a, enum policy_action fallback)
{
	return a < POLICY_ACTIONS ? (enum policy_action)a : fallback;
}

/* policy_layers - action and would_be from DomainActions, On<Sit>,
 * default; a monitor layer reports the layer beneath it. */
static void
policy_layers(const struct policy_config *pc, const char *domain,
              enum policy_situation sit, struct policy_decision *d)
{
	enum policy_action def = policy_default[sit];
	enum policy_action base = policy_valid_action(pc->on[sit], def);
	enum policy_action below = base == POLICY_MONITOR ? def : base;
	const struct policy_entry *ov =
	    policy_override(&pc->overrides, domain, sit);

	d->source = policy_situation_keys[sit];
	d->action = base;
	d->would_be = def;
	if (ov != NULL) {
		d->source = "DomainActions";
		d->action = policy_valid_action(ov->action, below);
		d->would_be = below;
	}
	if (d->action != POLICY_MONITOR)
		d->would_be = d->action;
}

/* policy_clamp - no 5xx from a missing, temporary or stale state, nor
 * for an unregistered domain while the registry may be behind. */
static void
policy_clamp(const struct policy_input *in, enum policy_situation sit,
             struct policy_decision *d)
{
	bool fresh = sit != POLICY_ON_UNKNOWN && sit != POLICY_ON_DNSERROR &&
	             !in->stale && !in->dns_trouble &&
	             !(in->registry_stale && !in->registered);

	if (fresh)
		return;
	if (d->would_be == POLICY_REJECT) {
		d->would_be = POLICY_TEMPFAIL;
		d->softened = true;
	}
	if (d->action == POLICY_REJECT)
		d->action = POLICY_TEMPFAIL;
}

/* policy_registry - UnregisteredDomains=accept|reject, or DomainActions. */
static void
policy_registry(const struct policy_config *pc, const char *domain,
                struct policy_decision *d)
{
	enum policy_action base = pc->unregistered == POLICY_UNREG_REJECT
	                              ? POLICY_REJECT
	                              : POLICY_ACCEPT;
	const struct policy_entry *ov =
	    policy_override(&pc->overrides, domain, POLICY_SCOPE_ALL);

	d->source = "UnregisteredDomains";
	d->action = d->would_be = base;
	if (ov != NULL) {
		d->source = "DomainActions";
		d->action = policy_valid_action(ov->action, base);
		d->would_be = d->action == POLICY_MONITOR ? base : d->action;
	}
}

/* policy_append - add src to dst (bounded by max); false when cut. */
static bool
policy_append(char *dst, size_t *n, size_t max, const char *src)
{
	size_t len = strlen(src), room = max - *n;

	if (len <= room) {
		memcpy(dst + *n, src, len);
		*n += len;
		dst[*n] = '\0';
		return true;
	}
	if (room >= sizeof(POLICY_ELLIPSIS) - 1) {
		memcpy(dst + *n, src, room - (sizeof(POLICY_ELLIPSIS) - 1));
		*n = max - (sizeof(POLICY_ELLIPSIS) - 1);
	}
	memcpy(dst + *n, POLICY_ELLIPSIS, max - *n);
	*n = max;
	dst[*n] = '\0';
	return false;
}

/* policy_expand - a reply template with %d, %r, %s into plain text. */
static void
policy_expand(const char *tmpl, const char *domain, const char *problem,
              const char *sit, char out[POLICY_TEXT_MAX + 1])
{
	char piece[POLICY_TEXT_MAX + 1];
	const char *p;
	size_t n = 0;

	out[0] = '\0';
	for (p = tmpl; *p != '\0'; p++) {
		piece[0] = p[0];
		piece[1] = '\0';
		if (p[0] == '%' && p[1] != '\0') {
			if (p[1] == 'd')
				sanitize_text(piece, sizeof(piece),
				              (const unsigned char *)domain,
				              strlen(domain));
			else if (p[1] == 'r')
				sanitize_text(piece, sizeof(piece),
				              (const unsigned char *)problem,
				              strlen(problem));
			else if (p[1] == 's')
				snprintf(piece, sizeof(piece), "%s", sit);
			else if (p[1] != '%')
				piece[1] = p[1], piece[2] = '\0';
			p++;
		}
		if (!policy_append(out, &n, POLICY_TEXT_MAX, piece))
			break;
	}
}

/* policy_milter_text - printable only, '%' doubled (smfi_setreply). */
static void
policy_milter_text(const char *plain, char out[2 * POLICY_TEXT_MAX + 1])
{
	size_t i, n = 0;

	for (i = 0; plain[i] != '\0' && i < POLICY_TEXT_MAX; i++) {
		unsigned char c = (unsigned char)plain[i];

		if (c < 0x20 || c > 0x7e)
			c = '?';
		out[n++] = (char)c;
		if (c == '%')
			out[n++] = '%';
	}
	out[n] = '\0';
}

/* policy_problem - what %r stands for. */
static const char *
policy_problem(const struct policy_input *in, bool judged, bool dns)
{
	if (!judged)
		return POLICY_R_UNREGISTERED;
	if (in->first_problem != NULL && in->first_problem[0] != '\0')
		return in->first_problem;
	if (dns)
		return POLICY_R_DNS;
	if (in->have_state && in->state > READINESS_UNKNOWN &&
	    in->state <= READINESS_FAILED)
		return POLICY_R_RECORDS;
	return POLICY_R_CHECKING;
}

const char *
policy_exempt(const struct policy_config *pc, const char *sender,
              const char *domain)
{
	char key[DOMAIN_BUF];

	return policy_exempt_reason(pc, sender, policy_key_domain(domain, key));
}

/* policy_reply - the one place replies are made (from would_be, or
 * from the reverse-path's class when it is unusable). */
static void
policy_reply(const struct policy_config *pc, const struct policy_input *in,
             struct policy_decision *d)
{
	const struct revpath_reply *path = revpath_reply(in->revpath);
	char plain[POLICY_TEXT_MAX + 1];
	bool dns = in->dns_trouble ||
	           (d->judged && d->situation == POLICY_ON_DNSERROR);
	const char *tmpl, *code, *xcode;

	if (path->rcode != NULL) {
		text_copy(d->smtp_code, sizeof(d->smtp_code), path->rcode);
		text_copy(d->xcode, sizeof(d->xcode), path->xcode);
		policy_milter_text(path->text, d->text);
		return;
	}
	if (d->would_be == POLICY_REJECT) {
		tmpl = pc->reject_reply, code = "550", xcode = "5.7.1";
	} else if (d->would_be == POLICY_TEMPFAIL && dns) {
		tmpl = pc->dnserror_reply, code = "451", xcode = "4.4.3";
	} else if (d->would_be == POLICY_TEMPFAIL) {
		tmpl = pc->tempfail_reply, code = "451", xcode = "4.7.1";
	} else {
		return;
	}
	text_copy(d->smtp_code, sizeof(d->smtp_code), code);
	text_copy(d->xcode, sizeof(d->xcode), xcode);
	policy_expand(tmpl, in->domain, policy_problem(in, d->judged, dns),
	              d->judged ? policy_situation_name(d->situation)
	                        : "unregistered",
	              plain);
	policy_milter_text(plain, d->text);
}

/* policy_describe - reason, and for a tag the header value, from
 * sanitized parts.  Built by appending: this runs for every decision. */
static void
policy_describe(const struct policy_input *in, struct policy_decision *d)
{
	char dom[DOMAIN_BUF + 16], prob[POLICY_REASON_MAX / 2];
	const char *what =
	    d->judged ? policy_situation_name(d->situation) : "unregistered";
	size_t n = 0;

	prob[0] = '\0';
	if (in->first_problem != NULL)
		sanitize_text(prob, sizeof(prob),
		              (const unsigned char *)in->first_problem,
		              strlen(in->first_problem));
	text_append(d->reason, sizeof(d->reason), &n, what);
	if (in->stale && d->judged)
		text_append(d->reason, sizeof(d->reason), &n, " stale");
	if (in->dns_trouble)
		text_append(d->reason, sizeof(d->reason), &n, " dns-trouble");
	if (in->check_timed_out)
		text_append(d->reason, sizeof(d->reason), &n,
		            " check-timed-out");
	if (in->registry_stale && !in->registered)
		text_append(d->reason, sizeof(d->reason), &n,
		            " registry-stale");
	text_append(d->reason, sizeof(d->reason), &n, ": ");
	text_append(d->reason, sizeof(d->reason), &n,
	            policy_action_name(d->action));
	text_append(d->reason, sizeof(d->reason), &n, " by ");
	text_append(d->reason, sizeof(d->reason), &n, d->source);
	if (d->action == POLICY_MONITOR) {
		text_append(d->reason, sizeof(d->reason), &n, ", would ");
		text_append(d->reason, sizeof(d->reason), &n,
		            policy_action_name(d->would_be));
	}
	if (d->softened)
		text_append(d->reason, sizeof(d->reason), &n,
		            ", reject softened to tempfail");
	if (prob[0] != '\0') {
		text_append(d->reason, sizeof(d->reason), &n, "; ");
		text_append(d->reason, sizeof(d->reason), &n, prob);
	}
	if (d->action != POLICY_TAG)
		return;
	sanitize_text(dom, sizeof(dom), (const unsigned char *)in->domain,
	              strlen(in->domain));
	snprintf(d->tag_value, sizeof(d->tag_value), "%s; domain=%s%s%s", what,
	         dom, prob[0] != '\0' ? "; problem=" : "", prob);
}

/* policy_simple - an accept decided before readiness is consulted. */
static void
policy_simple(struct policy_decision *d, const char *why, bool warn)
{
	d->action = d->would_be = POLICY_ACCEPT;
	d->source = why;
	d->log_warning = warn;
	text_copy(d->reason, sizeof(d->reason), why);
}

/* policy_bad_path - the reverse-path is refused whatever the mode: no
 * domain can be found in it, so there is nothing to judge. */
static void
policy_bad_path(const struct policy_input *in, struct policy_decision *d)
{
	size_t n = 0;

	d->action = d->would_be = POLICY_REJECT;
	d->source = "reverse-path";
	d->log_warning = true;
	text_append(d->reason, sizeof(d->reason), &n, "bad reverse-path: ");
	text_append(d->reason, sizeof(d->reason), &n,
	            in->path_error != NULL ? in->path_error : "");
}

void
policy_decide(const struct policy_config *pc, const struct policy_input *in,
              struct policy_decision *d)
{
	char domain[DOMAIN_BUF];
	const char *why;

	memset(d, 0, sizeof(*d));
	d->log = true;
	if (!in->outbound) {
		policy_simple(d, "not outbound", false);
		d->log = false;
		return;
	}
	if (revpath_reply(in->revpath)->rcode != NULL) {
		policy_bad_path(in, d);
		policy_reply(pc, in, d);
		return;
	}
	if (in->null_sender) {
		policy_simple(d, "null sender", false);
		return;
	}
	policy_key_domain(in->domain, domain);
	if ((why = policy_exempt_reason(pc, in->sender, domain)) != NULL) {
		policy_simple(d, why, false);
		return;
	}
	if (in->domain == NULL || in->domain[0] == '\0') {
		policy_simple(d, "no sender domain", true);
		return;
	}
	if (!in->registered && pc->unregistered != POLICY_UNREG_CHECK) {
		policy_registry(pc, domain, d);
		if (in->registry_stale)
			policy_clamp(in, POLICY_ON_UNKNOWN, d);
		d->log_warning = d->softened;
	} else {
		d->judged = true;
		d->situation = policy_situation_of(in);
		policy_layers(pc, domain, d->situation, d);
		policy_clamp(in, d->situation, d);
		d->log_warning = d->softened || in->stale || in->dns_trouble ||
		                 in->check_timed_out ||
		                 d->situation == POLICY_ON_DEGRADED;
	}
	if (pc->mode == POLICY_MODE_MONITOR && d->action != POLICY_ACCEPT)
		d->action = POLICY_MONITOR;
	policy_reply(pc, in, d);
	policy_describe(in, d);
}

bool
policy_sends_reply(const struct policy_decision *d)
{
	return (d->action == POLICY_TEMPFAIL || d->action == POLICY_REJECT) &&
	       d->smtp_code[0] != '\0';
}

bool
policy_may_quarantine(const struct policy_config *pc)
{
	uint32_t i;

	if (pc->mode == POLICY_MODE_MONITOR)
		return false; /* every action but accept becomes monitor */
	for (i = 0; i < POLICY_SITUATIONS; i++)
		if (pc->on[i] == POLICY_QUARANTINE)
			return true;
	for (i = 0; i < pc->overrides.count && i < POLICY_OVERRIDES_MAX; i++)
		if (pc->overrides.e[i].action == POLICY_QUARANTINE)
			return true;
	return false;
}

bool
policy_outbound(const struct policy_config *pc, const struct sockaddr *client,
                const char *auth_authen)
{
	bool host = netlist_match(&pc->internal_hosts, client);
	bool auth = auth_authen != NULL && auth_authen[0] != '\0';

	switch (pc->outbound_by) {
	case POLICY_OUT_HOSTS:
		return host;
	case POLICY_OUT_AUTH:
		return auth;
	case POLICY_OUT_BOTH:
		return host && auth;
	case POLICY_OUT_EITHER:
	default:
		return host || auth;
	}
}

/* ---------------------------------------------------------------- */
/* Value parsers */

int
policy_parse_action(const char *buf, size_t len, enum policy_action *a)
{
	size_t i;

	buf = policy_trim(buf, &len);
	for (i = 0; i < NELEM(policy_action_names); i++)
		if (text_ieq(buf, len, policy_action_names[i])) {
			*a = (enum policy_action)i;
			return 0;
		}
	return -1;
}

/* policy_parse_situation - a situation name or "all"; -1 unknown. */
static int
policy_parse_situation(const char *buf, size_t len, unsigned *s)
{
	size_t i;

	if (text_ieq(buf, len, "all")) {
		*s = POLICY_SCOPE_ALL;
		return 0;
	}
	for (i = 0; i < NELEM(policy_situation_names); i++)
		if (text_ieq(buf, len, policy_situation_names[i])) {
			*s = (unsigned)i;
			return 0;
		}
	return -1;
}

/* policy_no_state - a situation without a state to judge on. */
static bool
policy_no_state(unsigned s)
{
	return s == POLICY_ON_UNKNOWN || s == POLICY_ON_DNSERROR;
}

int
policy_parse_situation_action(unsigned situation, const char *buf, size_t len,
                              enum policy_action *a, char *err, size_t errlen)
{
	char q[POLICY_QUOTE_MAX];
	enum policy_action v;

	if (situation >= POLICY_SITUATIONS)
		return errbuf_fail(err, errlen, "no such situation");
	if (policy_parse_action(buf, len, &v) != 0)
		return errbuf_fail(err, errlen,
		                   "'%s' is not an action (accept, tempfail, "
		                   "reject, quarantine, tag or monitor)",
		                   text_quote(q, sizeof(q), buf, len));
	if (v == POLICY_REJECT && policy_no_state(situation))
		return errbuf_fail(err, errlen,
		                   "%s cannot be reject: a domain without a "
		                   "known state is never refused with a 5xx "
		                   "(use tempfail)",
		                   policy_situation_keys[situation]);
	*a = v;
	return 0;
}

/* policy_parse_named - one word of a name table into *out. */
static int
policy_parse_named(const struct policy_name *t, size_t n, const char *buf,
                   size_t len, int *out, const char *what, char *err,
                   size_t errlen)
{
	char q[POLICY_QUOTE_MAX];
	const char *w = policy_trim(buf, &len);
	int v = policy_lookup(t, n, w, len);

	if (v < 0)
		return errbuf_fail(err, errlen, "'%s' is not %s",
		                   text_quote(q, sizeof(q), w, len), what);
	*out = v;
	return 0;
}

int
policy_parse_unregistered(const char *buf, size_t len,
                          enum policy_unregistered *u, char *err, size_t errlen)
{
	int v;

	if (policy_parse_named(policy_unreg_names, NELEM(policy_unreg_names),
	                       buf, len, &v, "check, reject or accept", err,
	                       errlen) != 0)
		return -1;
	*u = (enum policy_unregistered)v;
	return 0;
}

int
policy_parse_mode(const char *buf, size_t len, enum policy_mode *m, char *err,
                  size_t errlen)
{
	int v;

	if (policy_parse_named(policy_mode_names, NELEM(policy_mode_names), buf,
	                       len, &v, "enforce or monitor", err, errlen) != 0)
		return -1;
	*m = (enum policy_mode)v;
	return 0;
}

int
policy_parse_outbound_by(const char *buf, size_t len,
                         enum policy_outbound_by *o, char *err, size_t errlen)
{
	int v;

	if (policy_parse_named(policy_outbound_names,
	                       NELEM(policy_outbound_names), buf, len, &v,
	                       "either, hosts, auth or both", err, errlen) != 0)
		return -1;
	*o = (enum policy_outbound_by)v;
	return 0;
}

/* policy_starts_with_code - "550 ", "4.7.1": text that carries a code. */
static bool
policy_starts_with_code(const char *p, size_t len)
{
	bool d0 = len > 0 && p[0] >= '2' && p[0] <= '5';

	if (d0 && len >= 4 && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
	    p[2] <= '9' && (p[3] == ' ' || p[3] == '-'))
		return true;
	return d0 && len >= 2 && p[1] == '.';
}

int
policy_parse_reply(const char *buf, size_t len, char *out, size_t outlen,
                   char *err, size_t errlen)
{
	char q[POLICY_QUOTE_MAX];
	const char *p = policy_trim(buf, &len);
	size_t i;

	if (len == 0)
		return errbuf_fail(err, errlen, "a reply text is empty");
	if (len >= outlen || len >= POLICY_REPLY_MAX)
		return errbuf_fail(err, errlen,
		                   "a reply text is longer than %d octets",
		                   POLICY_REPLY_MAX - 1);
	if (policy_starts_with_code(p, len))
		return errbuf_fail(err, errlen,
		                   "'%s': give the text only; the reply code "
		                   "is fixed by the kind of reply",
		                   text_quote(q, sizeof(q), p, len));
	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e)
			return errbuf_fail(err, errlen,
			                   "'%s' has a byte that is not "
			                   "printable ASCII",
			                   text_quote(q, sizeof(q), p, len));
		if (p[i] != '%')
			continue;
		if (i + 1 == len || memchr("drs%", p[i + 1], 4) == NULL)
			return errbuf_fail(
			    err, errlen,
			    "'%s' has a '%%' not followed by d "
			    "(domain), r (record), s (state) or %%",
			    text_quote(q, sizeof(q), p, len));
		i++;
	}
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

int
policy_parse_header(const char *buf, size_t len, char *out, size_t outlen,
                    char *err, size_t errlen)
{
	char q[POLICY_QUOTE_MAX];
	const char *p = policy_trim(buf, &len);
	size_t i;

	if (len == 0 || len >= outlen || len >= POLICY_HEADER_MAX)
		return errbuf_fail(err, errlen,
		                   "a header name has 1 to %d octets",
		                   POLICY_HEADER_MAX - 1);
	for (i = 0; i < len; i++)
		if (p[i] <= 0x20 || p[i] > 0x7e || p[i] == ':')
			return errbuf_fail(err, errlen,
			                   "'%s' is not a header field name",
			                   text_quote(q, sizeof(q), p, len));
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

/* ---------------------------------------------------------------- */
/* List parsers */

struct policy_cursor {
	const char *buf;
	size_t len, pos;
	unsigned line;
	bool ws; /* white space separates entries */
};

/* policy_blank - space or tab. */
static bool
policy_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* policy_entry_end - the entry ends before buf[pos]. */
static bool
policy_entry_end(const struct policy_cursor *c, size_t start)
{
	char ch = c->buf[c->pos];

	if (ch == '\n' || ch == ',' || (c->ws && policy_blank(ch)))
		return true;
	return ch == '#' && c->pos > start && policy_blank(c->buf[c->pos - 1]);
}

/* policy_next - the next entry, trimmed and not empty; false at the end. */
static bool
policy_next(struct policy_cursor *c, const char **ent, size_t *elen,
            unsigned *line)
{
	size_t start;

	while (c->pos < c->len) {
		char ch = c->buf[c->pos];

		if (ch == '\n')
			c->line++;
		if (ch == '\n' || ch == ',' || policy_blank(ch)) {
			c->pos++;
			continue;
		}
		if (ch == '#') {
			while (c->pos < c->len && c->buf[c->pos] != '\n')
				c->pos++;
			continue;
		}
		start = c->pos;
		while (c->pos < c->len && !policy_entry_end(c, start))
			c->pos++;
		*elen = c->pos - start;
		*ent = policy_trim(c->buf + start, elen);
		*line = c->line;
		return true;
	}
	return false;
}

/* policy_list_fail - "origin:LINE: " and the message; returns -1. */
static int
policy_list_fail(char *err, size_t errlen, const char *origin, unsigned line,
                 const char *fmt, ...)
{
	char msg[POLICY_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (origin != NULL)
		return errbuf_fail(err, errlen, "%s:%u: %s", origin, line, msg);
	return errbuf_fail(err, errlen, "%s", msg);
}

int
policy_exempt_senders_parse(struct policy_exempt *t, const char *buf,
                            size_t len, const char *origin, char *err,
                            size_t errlen)
{
	struct policy_cursor c = {buf, len, 0, 1, true};
	char canon[POLICY_ADDRESS_MAX], q[POLICY_QUOTE_MAX];
	struct policy_exempt *work;
	const char *ent;
	size_t elen;
	unsigned line;
	int rc = 0;

	if ((work = calloc(1, sizeof(*work))) == NULL)
		return errbuf_fail(err, errlen, "out of memory");
	while (rc == 0 && policy_next(&c, &ent, &elen, &line)) {
		if (policy_sender_canon(ent, elen, canon, sizeof(canon)) != 0)
			rc = policy_list_fail(
			    err, errlen, origin, line,
			    "'%s' is not an email address "
			    "(local@domain)",
			    text_quote(q, sizeof(q), ent, elen));
		else if (policy_tab_insert(POLICY_TAB(work), canon,
		                           strlen(canon), 0, 0) == -1)
			rc = policy_list_fail(
			    err, errlen, origin, line,
			    "'%s' does not fit: at most %d "
			    "exempt senders",
			    text_quote(q, sizeof(q), ent, elen),
			    POLICY_EXEMPT_MAX);
	}
	if (rc == 0)
		memcpy(t, work, sizeof(*t));
	free(work);
	return rc;
}

int
policy_exempt_domains_parse(struct policy_exempt *t, const char *buf,
                            size_t len, const char *origin, char *err,
                            size_t errlen)
{
	struct policy_cursor c = {buf, len, 0, 1, true};
	char dom[DOMAIN_BUF], msg[POLICY_MSG_MAX / 2];
	struct policy_exempt *work;
	const char *ent;
	size_t elen;
	unsigned line;
	int rc = 0;

	if ((work = calloc(1, sizeof(*work))) == NULL)
		return errbuf_fail(err, errlen, "out of memory");
	while (rc == 0 && policy_next(&c, &ent, &elen, &line)) {
		if (domain_normalize(ent, elen, dom, sizeof(dom), msg,
		                     sizeof(msg)) != 0)
			rc = policy_list_fail(err, errlen, origin, line, "%s",
			                      msg);
		else if (policy_tab_insert(POLICY_TAB(work), dom, strlen(dom),
		                           0, 0) == -1)
			rc = policy_list_fail(err, errlen, origin, line,
			                      "%s does not fit: at most %d "
			                      "exempt domains",
			                      dom, POLICY_EXEMPT_MAX);
	}
	if (rc == 0)
		memcpy(t, work, sizeof(*t));
	free(work);
	return rc;
}

/* policy_words - split an entry at white space, '=' and ':'. */
static size_t
policy_words(const char *buf, size_t len, const char *w[], size_t wl[],
             size_t max)
{
	size_t i = 0, n = 0, start;

	while (i < len) {
		if (policy_blank(buf[i]) || buf[i] == '=' || buf[i] == ':') {
			i++;
			continue;
		}
		start = i;
		while (i < len && !policy_blank(buf[i]) && buf[i] != '=' &&
		       buf[i] != ':')
			i++;
		if (n == max)
			return max + 1;
		w[n] = buf + start;
		wl[n++] = i - start;
	}
	return n;
}

/* policy_override_entry - one DomainActions entry into work; 0 or -1. */
static int
policy_override_entry(struct policy_overrides *work, const char *ent,
                      size_t elen, char *msg, size_t msglen)
{
	const char *w[POLICY_WORDS_MAX];
	size_t wl[POLICY_WORDS_MAX], n;
	char dom[DOMAIN_BUF], q[POLICY_QUOTE_MAX];
	enum policy_action a;
	unsigned scope = POLICY_SCOPE_ALL;
	int rc;

	n = policy_words(ent, elen, w, wl, POLICY_WORDS_MAX);
	if (n < 2 || n > POLICY_WORDS_MAX)
		return errbuf_fail(msg, msglen,
		                   "'%s' is not \"domain action [state]\"",
		                   text_quote(q, sizeof(q), ent, elen));
	if (domain_normalize(w[0], wl[0], dom, sizeof(dom), msg, msglen) != 0)
		return -1;
	if (policy_parse_action(w[1], wl[1], &a) != 0)
		return errbuf_fail(msg, msglen,
		                   "'%s' is not an action (accept, tempfail, "
		                   "reject, quarantine, tag or monitor)",
		                   text_quote(q, sizeof(q), w[1], wl[1]));
	if (n == 3 && policy_parse_situation(w[2], wl[2], &scope) != 0)
		return errbuf_fail(
		    msg, msglen,
		    "'%s' is not a state (unknown, pending, "
		    "verified, degraded, failed, dnserror or all)",
		    text_quote(q, sizeof(q), w[2], wl[2]));
	if (a == POLICY_REJECT && policy_no_state(scope))
		return errbuf_fail(msg, msglen,
		                   "%s: reject is not allowed for %s (no known "
		                   "state is never refused with a 5xx)",
		                   dom, policy_situation_name(scope));
	rc = policy_tab_insert(POLICY_TAB(work), dom, strlen(dom), a, scope);
	if (rc == -2)
		return errbuf_fail(msg, msglen, "%s has two entries for %s",
		                   dom, policy_situation_name(scope));
	if (rc != 0)
		return errbuf_fail(msg, msglen,
		                   "%s does not fit: at most %d entries", dom,
		                   POLICY_OVERRIDES_MAX);
	return 0;
}

int
policy_overrides_parse(struct policy_overrides *t, const char *buf, size_t len,
                       const char *origin, char *err, size_t errlen)
{
	struct policy_cursor c = {buf, len, 0, 1, false};
	struct policy_overrides *work;
	char msg[POLICY_MSG_MAX];
	const char *ent;
	size_t elen;
	unsigned line;
	int rc = 0;

	if ((work = calloc(1, sizeof(*work))) == NULL)
		return errbuf_fail(err, errlen, "out of memory");
	while (rc == 0 && policy_next(&c, &ent, &elen, &line))
		if (policy_override_entry(work, ent, elen, msg, sizeof(msg)))
			rc = policy_list_fail(err, errlen, origin, line, "%s",
			                      msg);
	if (rc == 0)
		memcpy(t, work, sizeof(*t));
	free(work);
	return rc;
}
