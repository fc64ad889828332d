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
 *	5. Alignment (fromcheck_align(), judged only when the From names
 *	   one mailbox with a domain whose owner has a known, fresh state
 *	   and the From is not exempt): DKIM aligns when a signing domain
 *	   with a verified key (a DKIM record that passed in its state)
 *	   aligns with the From domain per the From's adkim (relaxed: the
 *	   same organizational domain; strict: equal); SPF aligns when the
 *	   MAIL FROM domain aligns with it per aspf.  A mode not known is
 *	   relaxed (the RFC's default).  AlignmentRequired either (the
 *	   default), dkim, spf or both says which must hold; the null
 *	   sender has no envelope domain and is judged on its From alone:
 *	   through DKIM, whatever AlignmentRequired says.  A message that
 *	   does not align gets OnMisaligned (default reject, 550 5.7.1
 *	   naming both domains and what to fix; any action an On<Situation>
 *	   key takes), weighed by rule 2 with the other two (at a tie the
 *	   envelope's, then the From's).
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

/* AlignmentRequired: which alignment a message needs. */
enum fromcheck_align_req {
	FROMCHECK_ALIGN_EITHER = 0, /* DKIM or SPF, as DMARC */
	FROMCHECK_ALIGN_DKIM,
	FROMCHECK_ALIGN_SPF,
	FROMCHECK_ALIGN_BOTH, /* DMARC survives forwarding */
};

/* What aligned: bits of fromcheck_align(). */
#define FROMCHECK_ALIGNED_DKIM 1u
#define FROMCHECK_ALIGNED_SPF 2u
#define FROMCHECK_SIGNERS_MAX 2 /* the From's owner, the envelope's */

struct fromcheck_config {
	enum fromcheck_mode mode;                  /* FromCheck */
	enum policy_action on[FROMCHECK_PROBLEMS]; /* OnFrom<Problem> */
	enum fromcheck_align_req align;            /* AlignmentRequired */
	enum policy_action on_misaligned;          /* OnMisaligned */
};

/* One signing domain: a registered domain with a verified DKIM key. */
struct fromcheck_signer {
	const char *domain; /* the key's d= domain */
	const char *org;    /* its organizational domain */
};

/* What alignment is judged on (names normalized; orgs as stored by the
 * checker, sender.c's lk.org). */
struct fromcheck_align_facts {
	const char *from_domain, *from_org;
	char adkim, aspf;       /* the From's DMARC modes; 0 unknown: 'r' */
	const char *env_domain; /* MAIL FROM domain; NULL: the null sender */
	const char *env_org;
	struct fromcheck_signer signer[FROMCHECK_SIGNERS_MAX];
	size_t nsigners;
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
	FROMCHECK_BY_FROM,      /* the From domain's readiness */
	FROMCHECK_BY_HEADER,    /* a header problem's action */
	FROMCHECK_BY_ALIGNMENT, /* OnMisaligned */
};

struct fromcheck_decision {
	struct policy_decision d; /* what the milter does */
	enum fromcheck_by by;
	int problem;                   /* enum fromcheck_problem or NONE */
	enum policy_action from_would; /* FromCheck monitor: the enforced
	                                  decision's would_be */
	bool align_judged;             /* alignment facts were given */
	unsigned aligned;              /* FROMCHECK_ALIGNED_* bits */
	bool misaligned; /* what AlignmentRequired needs did not hold */
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

/* fromcheck_decide_aligned - fromcheck_decide() with the alignment
 * facts (NULL: alignment not judged, as fromcheck_decide()). Pure. */
void fromcheck_decide_aligned(const struct fromcheck_config *fc,
                              const struct policy_config *pc,
                              const struct policy_decision *envelope,
                              const struct fromcheck_facts *hf,
                              const struct policy_decision *from,
                              const struct fromcheck_align_facts *af,
                              struct fromcheck_decision *out);

/* fromcheck_align - what aligns: FROMCHECK_ALIGNED_* bits. Pure. */
unsigned fromcheck_align(const struct fromcheck_align_facts *af);

/* fromcheck_align_ok - aligned bits meet AlignmentRequired (the null
 * sender: DKIM alone). */
bool fromcheck_align_ok(enum fromcheck_align_req req, unsigned aligned,
                        bool null_sender);

/* fromcheck_aligned_name - "dkim+spf", "dkim", "spf", "none". */
const char *fromcheck_aligned_name(unsigned aligned);

/* fromcheck_align_req_name - "either", "dkim", "spf", "both". */
const char *fromcheck_align_req_name(enum fromcheck_align_req r);

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
int fromcheck_parse_align(const char *buf, size_t len,
                          enum fromcheck_align_req *r, char *err,
                          size_t errlen);
int fromcheck_parse_misaligned(const char *buf, size_t len,
                               enum policy_action *a, char *err, size_t errlen);

#endif
