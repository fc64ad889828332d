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
 * DESCRIPTION
 *	The rules are listed in fromcheck.h; the tables below hold the
 *	names, the replies of the header problems and the severity order.
 *	A header problem's reply text is fixed (no '%' to double): the
 *	parser's sentence goes to the log reason only, sanitized there.
 */
#include "fromcheck.h"

#include <stdio.h>
#include <string.h>

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

void
fromcheck_decide(const struct fromcheck_config *fc,
                 const struct policy_config *pc,
                 const struct policy_decision *envelope,
                 const struct fromcheck_facts *hf,
                 const struct policy_decision *from,
                 struct fromcheck_decision *out)
{
	struct policy_decision header;

	out->problem = fromcheck_problem(hf);
	out->by = FROMCHECK_BY_ENVELOPE;
	out->d = *envelope;
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
