/*
 * fromcheck.h - the header From decision: (envelope, From facts) -> action.
 *
 * SYNOPSIS
 *	#include "fromcheck.h"
 *
 *	The functions: see fromcheck.c.
 *
 * DESCRIPTION
 *	Receivers judge the domain of the From header field, not the
 *	envelope.  With FromCheck monitor or enforce the milter decides the
 *	envelope at MAIL FROM as before (a tempfail or reject is sent
 *	there), and everything else at end of headers: fromcheck_decide()
 *	takes the envelope's decision, the facts about the From header
 *	fields (how many, what fromhdr_parse() made of the first) and, when
 *	the From names exactly one mailbox with a domain, the decision
 *	policy_decide() took on that domain, and gives the one the milter
 *	acts on.  Pure: no I/O, no clock.
 *
 * RULES
 *	1. A From that cannot be judged is a header problem, each with its
 *	   action: no From field, or one without a mailbox (OnFromMissing);
 *	   more than one From field (OnFromMultiple); a From with more than
 *	   one mailbox (OnFromMailboxes: RFC 5322 then needs Sender:, and
 *	   DMARC receivers reject it); a From that does not parse, or whose
 *	   mailbox is at an address literal (OnFromInvalid).  Each is
 *	   accept, tempfail (451 4.7.1) or reject (550 5.7.1), default
 *	   reject.  accept goes on with the envelope's decision alone.
 *	2. Otherwise the more severe of the envelope's decision and the
 *	   From's wins (by the enforced action: reject, tempfail,
 *	   quarantine, tag, monitor, accept); at a tie the envelope's.  The
 *	   null sender's envelope decision is accept: it is judged on its
 *	   From alone.
 *	3. Mode monitor turns a header problem's tempfail or reject into
 *	   monitor, as policy_decide() does with readiness actions.
 *	4. FromCheck monitor: the envelope's decision is the one acted on;
 *	   what enforce would have done is from_would, for the log.
 */
#ifndef AUTHREADY_FROMCHECK_H
#define AUTHREADY_FROMCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "fromhdr.h"
#include "policy.h"

enum fromcheck_mode {
	FROMCHECK_ENFORCE = 0,
	FROMCHECK_MONITOR,
	FROMCHECK_OFF,
};

/* A From that cannot be judged; each has an On<Problem> key. */
enum fromcheck_problem {
	FROMCHECK_MISSING = 0, /* OnFromMissing */
	FROMCHECK_MULTIPLE,    /* OnFromMultiple */
	FROMCHECK_MAILBOXES,   /* OnFromMailboxes */
	FROMCHECK_INVALID,     /* OnFromInvalid */
};
#define FROMCHECK_PROBLEMS 4
#define FROMCHECK_NONE (-1)

struct fromcheck_config {
	enum fromcheck_mode mode;                  /* FromCheck */
	enum policy_action on[FROMCHECK_PROBLEMS]; /* OnFrom<Problem> */
};

/* What the milter saw of the From header fields of one message. */
struct fromcheck_facts {
	unsigned fields;          /* From header fields */
	int code;                 /* enum fromhdr_code of the first */
	const struct fromhdr *fh; /* its parse; NULL when fields == 0 */
};

/* Which input the decision came from. */
enum fromcheck_by {
	FROMCHECK_BY_ENVELOPE = 0,
	FROMCHECK_BY_FROM,   /* the From domain's readiness */
	FROMCHECK_BY_HEADER, /* a header problem's action */
};

struct fromcheck_decision {
	struct policy_decision d; /* what the milter does */
	enum fromcheck_by by;
	int problem;                   /* enum fromcheck_problem or NONE */
	enum policy_action from_would; /* FromCheck monitor: the enforced
	                                  decision's would_be */
};

/* fromcheck_config_defaults - FromCheck enforce, every problem reject. */
void fromcheck_config_defaults(struct fromcheck_config *fc);

/* fromcheck_problem - the header problem the facts show, or
 * FROMCHECK_NONE when the From names one mailbox with a domain (then
 * hf->fh->box[0].domain is the domain to judge). */
int fromcheck_problem(const struct fromcheck_facts *hf);

/* fromcheck_decide - the decision at end of headers; from is the From
 * domain's policy decision, read only when fromcheck_problem() is NONE.
 * Pure. */
void fromcheck_decide(const struct fromcheck_config *fc,
                      const struct policy_config *pc,
                      const struct policy_decision *envelope,
                      const struct fromcheck_facts *hf,
                      const struct policy_decision *from,
                      struct fromcheck_decision *out);

/* fromcheck_mode_name - "enforce", "monitor", "off". */
const char *fromcheck_mode_name(enum fromcheck_mode m);

/* fromcheck_problem_name - "from-missing" etc.; "-" for NONE. */
const char *fromcheck_problem_name(int problem);

/* fromcheck_by_name - "envelope", "from", "header". */
const char *fromcheck_by_name(enum fromcheck_by by);

/* Value parsers: 0, or -1 with a sentence in err (target unchanged). */
int fromcheck_parse_mode(const char *buf, size_t len, enum fromcheck_mode *m,
                         char *err, size_t errlen);
int fromcheck_parse_action(const char *buf, size_t len, enum policy_action *a,
                           char *err, size_t errlen);

#endif
