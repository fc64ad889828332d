/*
 * fromcheck.c - the header From decision: (envelope, From facts) -> action.
 *
 * SYNOPSIS
 *	#include "fromcheck.h"
 *
 *	void fromcheck_config_defaults(struct fromcheck_config *fc);
 *	int fromcheck_problem(const struct fromcheck_facts *hf);
 *	void fromcheck_decide(const struct fromcheck_config *fc,
 *	    const struct policy_config *pc,
 *	    const struct policy_decision *envelope,
 *	    const struct fromcheck_facts *hf,
 *	    const struct policy_decision *from,
 *	    struct fromcheck_decision *out);
 *	const char *fromcheck_mode_name(enum fromcheck_mode m);
 *	const char *fromcheck_problem_name(int problem);
 *	const char *fromcheck_by_name(enum fromcheck_by by);
 *	int fromcheck_parse_mode(buf, len, m, err, errlen);
 *	int fromcheck_parse_action(buf, len, a, err, errlen);
 *	void fromcheck_decide_aligned(fc, pc, envelope, hf, from, af, out);
 *	unsigned fromcheck_align(const struct fromcheck_align_facts *af);
 *	bool fromcheck_align_ok(req, aligned, null_sender);
 *	const char *fromcheck_aligned_name(unsigned aligned);
 *	const char *fromcheck_align_req_name(enum fromcheck_align_req r);
 *	int fromcheck_parse_align(buf, len, r, err, errlen);
 *	int fromcheck_parse_misaligned(buf, len, a, err, errlen);
 * DESCRIPTION
 *	The rules are listed in fromcheck.h; the tables below hold the
 *	names, the replies of the header problems and the severity order.
 *	A header problem's reply text is fixed (no '%' to double): the
 *	parser's sentence goes to the log reason only, sanitized there.
 *	The misaligned reply names the two domains and the fix; the names
 *	are normalized domains, and any octet that is not a letter, digit,
 *	'-', '_' or '.' is shown as '?', so there is no '%' to double there
 *	either.
 */
#include "fromcheck.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "errbuf.h"
#include "text.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const fromcheck_mode_names[] = {
    [FROMCHECK_ENFORCE] = "enforce",
    [FROMCHECK_MONITOR] = "monitor",
    [FROMCHECK_OFF] = "off",
};

/* Each header problem: its log name and its reply text. */
static const struct {
	const char *name;
	const char *text;
} fromcheck_problems[FROMCHECK_PROBLEMS] = {
    [FROMCHECK_MISSING] = {"from-missing",
                           "the message has no From header field with a "
                           "mailbox; receivers require one"},
    [FROMCHECK_MULTIPLE] = {"from-multiple",
                            "the message has more than one From header "
                            "field; receivers require exactly one"},
    [FROMCHECK_MAILBOXES] = {"from-mailboxes",
                             "the From header field names more than one "
                             "mailbox; receivers require exactly one"},
    [FROMCHECK_INVALID] = {"from-invalid",
                           "the From header field has no valid address "
                           "with a domain"},
};

static const char *const fromcheck_by_names[] = {
    [FROMCHECK_BY_ENVELOPE] = "envelope",
    [FROMCHECK_BY_FROM] = "from",
    [FROMCHECK_BY_HEADER] = "header",
    [FROMCHECK_BY_ALIGNMENT] = "alignment",
};

/* AlignmentRequired values, and which alignments each needs. */
static const struct {
	const char *name;
	bool dkim, spf, both;
} fromcheck_align_reqs[] = {
    [FROMCHECK_ALIGN_EITHER] = {"either", true, true, false},
    [FROMCHECK_ALIGN_DKIM] = {"dkim", true, false, false},
    [FROMCHECK_ALIGN_SPF] = {"spf", false, true, false},
    [FROMCHECK_ALIGN_BOTH] = {"both", true, true, true},
};

/* The outcome of fromcheck_align(), by its bits. */
static const char *const fromcheck_aligned_names[] = {
    [0] = "none",
    [FROMCHECK_ALIGNED_DKIM] = "dkim",
    [FROMCHECK_ALIGNED_SPF] = "spf",
    [FROMCHECK_ALIGNED_DKIM | FROMCHECK_ALIGNED_SPF] = "dkim+spf",
};

/* Severity of an enforced action: the higher wins. */
static const unsigned fromcheck_severity[POLICY_ACTIONS] = {
    [POLICY_ACCEPT] = 0,     [POLICY_MONITOR] = 1,  [POLICY_TAG] = 2,
    [POLICY_QUARANTINE] = 3, [POLICY_TEMPFAIL] = 4, [POLICY_REJECT] = 5,
};

/* The actions a header problem may take. */
static const enum policy_action fromcheck_actions[] = {
    POLICY_ACCEPT,
    POLICY_TEMPFAIL,
    POLICY_REJECT,
};

void
fromcheck_config_defaults(struct fromcheck_config *fc)
{
	fc->mode = FROMCHECK_ENFORCE;
	for (unsigned i = 0; i < FROMCHECK_PROBLEMS; i++)
		fc->on[i] = POLICY_REJECT;
	fc->align = FROMCHECK_ALIGN_EITHER;
	fc->on_misaligned = POLICY_REJECT;
}

const char *
fromcheck_mode_name(enum fromcheck_mode m)
{
	if ((size_t)m >= NELEM(fromcheck_mode_names))
		return "invalid";
	return fromcheck_mode_names[m];
}

const char *
fromcheck_problem_name(int problem)
{
	if (problem < 0 || problem >= FROMCHECK_PROBLEMS)
		return "-";
	return fromcheck_problems[problem].name;
}

const char *
fromcheck_by_name(enum fromcheck_by by)
{
	if ((size_t)by >= NELEM(fromcheck_by_names))
		return "invalid";
	return fromcheck_by_names[by];
}

int
fromcheck_problem(const struct fromcheck_facts *hf)
{
	if (hf->fields == 0)
		return FROMCHECK_MISSING;
	if (hf->fields > 1)
		return FROMCHECK_MULTIPLE;
	if (hf->code == FROMHDR_EMPTY)
		return FROMCHECK_MISSING;
	if (hf->code != FROMHDR_OK || hf->fh == NULL)
		return FROMCHECK_INVALID;
	if (hf->fh->count > 1)
		return FROMCHECK_MAILBOXES;
	if (hf->fh->box[0].literal)
		return FROMCHECK_INVALID;
	return FROMCHECK_NONE;
}

/* fromcheck_severity_of - the severity of a decision's enforced action. */
static unsigned
fromcheck_severity_of(const struct policy_decision *d)
{
	if ((size_t)d->would_be >= NELEM(fromcheck_severity))
		return 0;
	return fromcheck_severity[d->would_be];
}

/* fromcheck_header - the decision for header problem p. */
static void
fromcheck_header(const struct fromcheck_config *fc,
                 const struct policy_config *pc, int p,
                 struct policy_decision *d)
{
	enum policy_action a = fc->on[p];

	memset(d, 0, sizeof(*d));
	d->log = true;
	d->judged = true;
	d->would_be = a;
	d->action = a;
	d->source = "OnFrom";
	if (a != POLICY_ACCEPT && pc->mode == POLICY_MODE_MONITOR)
		d->action = POLICY_MONITOR;
	d->log_warning = true;
	snprintf(d->reason, sizeof(d->reason), "%s",
	         fromcheck_problems[p].name);
	if (a == POLICY_REJECT || a == POLICY_TEMPFAIL) {
		snprintf(d->smtp_code, sizeof(d->smtp_code), "%s",
		         a == POLICY_REJECT ? "550" : "451");
		snprintf(d->xcode, sizeof(d->xcode), "%s",
		         a == POLICY_REJECT ? "5.7.1" : "4.7.1");
		snprintf(d->text, sizeof(d->text), "%s",
		         fromcheck_problems[p].text);
	}
}

const char *
fromcheck_aligned_name(unsigned aligned)
{
	if (aligned >= NELEM(fromcheck_aligned_names))
		return "invalid";
	return fromcheck_aligned_names[aligned];
}

const char *
fromcheck_align_req_name(enum fromcheck_align_req r)
{
	if ((size_t)r >= NELEM(fromcheck_align_reqs))
		return "invalid";
	return fromcheck_align_reqs[r].name;
}

/* fromcheck_aligns - identity a (with its org) aligns with the From
 * domain in mode ('s' strict: equal; else relaxed: same org). */
static bool
fromcheck_aligns(char mode, const char *a, const char *a_org,
                 const struct fromcheck_align_facts *af)
{
	if (a == NULL || a[0] == '\0' || af->from_domain == NULL)
		return false;
	if (mode == 's')
		return strcasecmp(a, af->from_domain) == 0;
	return a_org != NULL && a_org[0] != '\0' && af->from_org != NULL &&
	       strcasecmp(a_org, af->from_org) == 0;
}

unsigned
fromcheck_align(const struct fromcheck_align_facts *af)
{
	unsigned aligned = 0;

	for (size_t i = 0; i < af->nsigners && i < FROMCHECK_SIGNERS_MAX; i++)
		if (fromcheck_aligns(af->adkim, af->signer[i].domain,
		                     af->signer[i].org, af))
			aligned |= FROMCHECK_ALIGNED_DKIM;
	if (fromcheck_aligns(af->aspf, af->env_domain, af->env_org, af))
		aligned |= FROMCHECK_ALIGNED_SPF;
	return aligned;
}

bool
fromcheck_align_ok(enum fromcheck_align_req req, unsigned aligned,
                   bool null_sender)
{
	bool dkim = (aligned & FROMCHECK_ALIGNED_DKIM) != 0;
	bool spf = (aligned & FROMCHECK_ALIGNED_SPF) != 0;

	if ((size_t)req >= NELEM(fromcheck_align_reqs))
		req = FROMCHECK_ALIGN_EITHER;
	if (null_sender)
		return dkim;
	if (fromcheck_align_reqs[req].both)
		return dkim && spf;
	return (fromcheck_align_reqs[req].dkim && dkim) ||
	       (fromcheck_align_reqs[req].spf && spf);
}

/* fromcheck_name - a domain for a reply: letters, digits, '-', '_' and
 * '.', anything else '?' (no '%' reaches smfi_setreply). */
static void
fromcheck_name(char *out, size_t size, const char *name)
{
	size_t n = 0;

	for (; name != NULL && name[n] != '\0' && n + 1 < size; n++)
		out[n] = (text_is_alpha((unsigned char)name[n]) ||
		          text_is_digit((unsigned char)name[n]) ||
		          name[n] == '-' || name[n] == '_' || name[n] == '.')
		             ? name[n]
		             : '?';
	out[n] = '\0';
}

/* fromcheck_join - the NULL-terminated list of parts into out, cut to
 * fit. */
static void
fromcheck_join(char *out, size_t size, const char *const *parts)
{
	size_t used = 0;

	out[0] = '\0';
	for (; *parts != NULL; parts++)
		text_append(out, size, &used, *parts);
}

/* fromcheck_fix - the sentence of what to do, for the alignments that
 * AlignmentRequired needs and that are missing. */
static void
fromcheck_fix(const struct fromcheck_config *fc,
              const struct fromcheck_align_facts *af, unsigned aligned,
              const char *from, const char *org, char *out, size_t size)
{
	enum fromcheck_align_req req =
	    (size_t)fc->align < NELEM(fromcheck_align_reqs)
	        ? fc->align
	        : FROMCHECK_ALIGN_EITHER;
	bool null_sender = af->env_domain == NULL;
	bool want_dkim = null_sender || fromcheck_align_reqs[req].dkim;
	bool want_spf = !null_sender && fromcheck_align_reqs[req].spf;
	char dkim[2 * DOMAIN_BUF + 64], spf[2 * DOMAIN_BUF + 64];

	dkim[0] = spf[0] = '\0';
	if (want_dkim && !(aligned & FROMCHECK_ALIGNED_DKIM)) {
		if (af->adkim == 's')
			snprintf(dkim, sizeof(dkim),
			         "sign with a verified DKIM key of exactly %s "
			         "(adkim=s)",
			         from);
		else
			snprintf(dkim, sizeof(dkim),
			         "sign with a verified DKIM key of %s", org);
	}
	if (want_spf && !(aligned & FROMCHECK_ALIGNED_SPF)) {
		if (af->aspf == 's')
			snprintf(spf, sizeof(spf),
			         "send with a MAIL FROM of exactly %s (aspf=s)",
			         from);
		else
			snprintf(spf, sizeof(spf),
			         "send with a MAIL FROM under %s", org);
	}
	snprintf(out, size, "%s%s%s", dkim,
	         dkim[0] != '\0' && spf[0] != '\0'
	             ? (fromcheck_align_reqs[req].both ? " and " : " or ")
	             : "",
	         spf);
}

/* What the reply says the From did not align with, around the MAIL
 * FROM domain: by AlignmentRequired, and for the null sender. */
static const char *const fromcheck_with[][2] = {
    [FROMCHECK_ALIGN_EITHER] = {"MAIL FROM domain ", " or a verified DKIM key"},
    [FROMCHECK_ALIGN_DKIM] = {"a verified DKIM key (MAIL FROM domain ",
                              "; DKIM alignment is required)"},
    [FROMCHECK_ALIGN_SPF] = {"MAIL FROM domain ",
                             " (SPF alignment is required)"},
    [FROMCHECK_ALIGN_BOTH] = {"both MAIL FROM domain ",
                              " and a verified DKIM key (both are "
                              "required)"},
};
static const char *const fromcheck_with_null[2] = {
    "a verified DKIM key (MAIL FROM ", ": the null sender aligns through "
                                       "DKIM alone)"};

/* fromcheck_what - part i (0 before the MAIL FROM domain, 1 after) of
 * what the From did not align with. */
static const char *
fromcheck_what(enum fromcheck_align_req req, bool null_sender, unsigned i)
{
	if (null_sender)
		return fromcheck_with_null[i & 1];
	if ((size_t)req >= NELEM(fromcheck_with))
		req = FROMCHECK_ALIGN_EITHER;
	return fromcheck_with[req][i & 1];
}

/* fromcheck_misaligned - the decision for a message that does not
 * align: OnMisaligned, Mode monitor applied as policy_decide() does. */
static void
fromcheck_misaligned(const struct fromcheck_config *fc,
                     const struct policy_config *pc,
                     const struct fromcheck_align_facts *af, unsigned aligned,
                     struct policy_decision *d)
{
	enum policy_action a = fc->on_misaligned;
	char from[DOMAIN_BUF], org[DOMAIN_BUF], env[DOMAIN_BUF];
	char fix[4 * DOMAIN_BUF + 160];

	memset(d, 0, sizeof(*d));
	d->log = true;
	d->judged = true;
	d->log_warning = true;
	d->source = "OnMisaligned";
	d->action = a;
	/* monitor: accept, and log the built-in default (reject) */
	d->would_be = a == POLICY_MONITOR ? POLICY_REJECT : a;
	if (a != POLICY_ACCEPT && pc->mode == POLICY_MODE_MONITOR)
		d->action = POLICY_MONITOR;
	fromcheck_name(from, sizeof(from), af->from_domain);
	fromcheck_name(org, sizeof(org),
	               af->from_org != NULL && af->from_org[0] != '\0'
	                   ? af->from_org
	                   : af->from_domain);
	if (af->env_domain != NULL)
		fromcheck_name(env, sizeof(env), af->env_domain);
	else
		snprintf(env, sizeof(env), "<>");
	fromcheck_fix(fc, af, aligned, from, org, fix, sizeof(fix));
	fromcheck_join(d->reason, sizeof(d->reason),
	               (const char *const[]){
	                   "misaligned: From ", from, ", MAIL FROM ", env,
	                   ", aligned ", fromcheck_aligned_name(aligned),
	                   ", AlignmentRequired ",
	                   fromcheck_align_req_name(fc->align), NULL});
	if (d->would_be == POLICY_REJECT || d->would_be == POLICY_TEMPFAIL) {
		snprintf(d->smtp_code, sizeof(d->smtp_code), "%s",
		         d->would_be == POLICY_REJECT ? "550" : "451");
		snprintf(d->xcode, sizeof(d->xcode), "%s",
		         d->would_be == POLICY_REJECT ? "5.7.1" : "4.7.1");
		fromcheck_join(
		    d->text, POLICY_TEXT_MAX,
		    (const char *const[]){
		        "From domain ", from, " does not align with ",
		        fromcheck_what(fc->align, af->env_domain == NULL, 0),
		        env,
		        fromcheck_what(fc->align, af->env_domain == NULL, 1),
		        ", so receivers applying DMARC will reject it: ", fix,
		        NULL});
	}
	if (a == POLICY_TAG)
		fromcheck_join(d->tag_value, sizeof(d->tag_value),
		               (const char *const[]){"misaligned; from=", from,
		                                     "; mail_from=", env,
		                                     NULL});
}

void
fromcheck_decide(const struct fromcheck_config *fc,
                 const struct policy_config *pc,
                 const struct policy_decision *envelope,
                 const struct fromcheck_facts *hf,
                 const struct policy_decision *from,
                 struct fromcheck_decision *out)
{
	fromcheck_decide_aligned(fc, pc, envelope, hf, from, NULL, out);
}

void
fromcheck_decide_aligned(const struct fromcheck_config *fc,
                         const struct policy_config *pc,
                         const struct policy_decision *envelope,
                         const struct fromcheck_facts *hf,
                         const struct policy_decision *from,
                         const struct fromcheck_align_facts *af,
                         struct fromcheck_decision *out)
{
	struct policy_decision header, mis;

	out->problem = fromcheck_problem(hf);
	out->by = FROMCHECK_BY_ENVELOPE;
	out->d = *envelope;
	out->align_judged = af != NULL && out->problem == FROMCHECK_NONE;
	out->aligned = out->align_judged ? fromcheck_align(af) : 0;
	out->misaligned =
	    out->align_judged && !fromcheck_align_ok(fc->align, out->aligned,
	                                             af->env_domain == NULL);
	if (out->problem != FROMCHECK_NONE) {
		fromcheck_header(fc, pc, out->problem, &header);
		if (header.would_be != POLICY_ACCEPT &&
		    fromcheck_severity_of(&header) >
		        fromcheck_severity_of(envelope)) {
			out->d = header;
			out->by = FROMCHECK_BY_HEADER;
		}
	} else if (from != NULL && fromcheck_severity_of(from) >
	                               fromcheck_severity_of(envelope)) {
		out->d = *from;
		out->by = FROMCHECK_BY_FROM;
	}
	if (out->misaligned) {
		fromcheck_misaligned(fc, pc, af, out->aligned, &mis);
		if (mis.would_be != POLICY_ACCEPT &&
		    fromcheck_severity_of(&mis) >
		        fromcheck_severity_of(&out->d)) {
			out->d = mis;
			out->by = FROMCHECK_BY_ALIGNMENT;
		}
	}
	out->from_would = out->d.would_be;
	if (fc->mode == FROMCHECK_MONITOR) {
		out->d = *envelope;
		out->by = FROMCHECK_BY_ENVELOPE;
	}
}

int
fromcheck_parse_mode(const char *buf, size_t len, enum fromcheck_mode *m,
                     char *err, size_t errlen)
{
	char q[64];

	for (size_t i = 0; i < NELEM(fromcheck_mode_names); i++)
		if (text_ieq(buf, len, fromcheck_mode_names[i])) {
			*m = (enum fromcheck_mode)i;
			return 0;
		}
	return errbuf_fail(err, errlen, "'%s' is not off, monitor or enforce",
	                   text_quote(q, sizeof(q), buf, len));
}

int
fromcheck_parse_action(const char *buf, size_t len, enum policy_action *a,
                       char *err, size_t errlen)
{
	char q[64];

	for (size_t i = 0; i < NELEM(fromcheck_actions); i++)
		if (text_ieq(buf, len,
		             policy_action_name(fromcheck_actions[i]))) {
			*a = fromcheck_actions[i];
			return 0;
		}
	return errbuf_fail(err, errlen,
	                   "'%s' is not accept, tempfail or reject",
	                   text_quote(q, sizeof(q), buf, len));
}

int
fromcheck_parse_align(const char *buf, size_t len, enum fromcheck_align_req *r,
                      char *err, size_t errlen)
{
	char q[64];

	for (size_t i = 0; i < NELEM(fromcheck_align_reqs); i++)
		if (text_ieq(buf, len, fromcheck_align_reqs[i].name)) {
			*r = (enum fromcheck_align_req)i;
			return 0;
		}
	return errbuf_fail(err, errlen, "'%s' is not either, dkim, spf or both",
	                   text_quote(q, sizeof(q), buf, len));
}

int
fromcheck_parse_misaligned(const char *buf, size_t len, enum policy_action *a,
                           char *err, size_t errlen)
{
	char q[64];

	if (policy_parse_action(buf, len, a) == 0)
		return 0;
	return errbuf_fail(err, errlen,
	                   "'%s' is not an action (accept, tempfail, reject, "
	                   "quarantine, tag or monitor)",
	                   text_quote(q, sizeof(q), buf, len));
}
