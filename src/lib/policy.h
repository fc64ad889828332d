/*
 * policy.h - (readiness, config) -> milter action and SMTP reply.
 *
 * SYNOPSIS
 *	#include "policy.h"
 *
 *	The functions: see policy.c.
 *
 * DESCRIPTION
 *	policy_decide() is a pure function: the milter gathers the facts about
 *	one MAIL FROM into a struct policy_input and gets back a struct
 *	policy_decision (action, reply, log reason).  No I/O, no clock, no DNS.
 *
 * ACTIONS
 *	accept      let the mail through.
 *	tempfail    451 4.7.1 (451 4.4.3 when DNS trouble is involved).
 *	reject      550 5.7.1 naming the domain and the first record to fix.
 *	quarantine  accept, then hold the message (smfi_quarantine, reason).
 *	tag         accept, then add the TagHeader header (tag_value).
 *	monitor     accept, and log the action that would have been taken
 *	            (decision.would_be).
 *
 * SITUATIONS
 *	The five readiness states plus "dnserror": DNS trouble (the last
 *	check, or the check the milter waited for, was undecided by DNS) and
 *	no known state to serve.  Each has an action: OnUnknown, OnPending,
 *	OnVerified, OnDegraded, OnFailed, OnDNSError.  Defaults:
 *	verified accept, degraded accept with a warning, pending reject,
 *	failed reject, unknown tempfail (451 4.7.1), dnserror tempfail
 *	(451 4.4.3).  A state of "unknown" stored in the registry counts as no
 *	state.  An out-of-range state value counts as no state.
 *
 * ORDER OF THE DECISION
 *	1. Mail that is not outbound passes untouched (accept, log false).
 *	   A reverse-path that revpath_reply() refuses (input.revpath: no
 *	   domain can be found in it) gets that reply, 550 5.1.7, in either
 *	   Mode, reason "bad reverse-path: " and the parser's sentence.
 *	2. The null sender <> is accepted, reason "null sender" (logged).
 *	3. Exempt senders (exact address; the domain part compares
 *	   case-insensitively, the local part exactly) and exempt domains
 *	   (the domain and its subdomains, by whole labels, matched against
 *	   both the sender's domain and input.domain) are accepted.
 *	4. A sender with no domain is accepted with a warning.
 *	5. A domain not in the registry: UnregisteredDomains=check goes on as
 *	   a registered domain would (no state: the milter queues a check
 *	   with the global expectations); =accept and =reject decide here,
 *	   unless a DomainActions entry for all situations names the domain
 *	   (that entry wins).
 *	6. Otherwise the action is the most specific DomainActions entry
 *	   (nearest domain first: mail.example.com before example.com; at one
 *	   domain an entry for the situation before an entry for all),
 *	   else On<Situation>.
 *
 * MONITOR
 *	Two ways, one meaning ("accept and log what enforcement would do"):
 *	- "monitor" as a value of On<Situation> means: accept, and log the
 *	  built-in default of that situation; as a DomainActions value it
 *	  means: accept and log the action the On<Situation> setting gives
 *	  (its own default when that is monitor too).  So a monitor layer
 *	  always reports the layer beneath it.
 *	- Mode monitor (global): every action but accept becomes monitor,
 *	  with would_be the action enforcement would take.  Null sender,
 *	  exemptions and out-of-scope mail are accepted as in enforce mode.
 *
 * NO 5XX FROM A TEMPORARY OR STALE STATE
 *	A readiness decision may reject only on a fresh, known state: when
 *	there is no state (or "unknown"), when the state is stale (past its
 *	next check, or served after DNS trouble), or when dns_trouble is set,
 *	a reject becomes a tempfail: 451 4.4.3 when dns_trouble is set, else
 *	451 4.7.1, with softened and log_warning set.  This applies to the
 *	would_be action as well, so monitor logs never claim a 5xx that
 *	enforcement would not send.  Stale verified and degraded states are
 *	served (stale-while-revalidate): accept, with a warning.  The one
 *	550 without a state is UnregisteredDomains=reject (or a DomainActions
 *	reject for an unregistered domain): an operator's registry decision
 *	in which neither DNS nor timing plays a part.
 *	An unregistered domain is not rejected either while the registry may
 *	be behind (registry_stale: a replica that has not heard from
 *	PostgreSQL for ReplicaMaxLag): its reject, UnregisteredDomains=reject
 *	included, becomes 451 4.7.1 the same way, reason "registry-stale".
 *	The parsers refuse "reject" for OnUnknown and OnDNSError, and for a
 *	DomainActions entry scoped to unknown or dnserror.
 *
 * REPLIES
 *	The codes are fixed by kind: reject 550 5.7.1 (RejectReply), tempfail
 *	451 4.7.1 (TempfailReply), DNS trouble 451 4.4.3 (DNSErrorReply), an
 *	unusable reverse-path revpath_reply()'s (550 5.1.7, fixed text).
 *	The configurable part is the text, printable ASCII with %d (domain),
 *	%r (first record to fix, or a fixed phrase when there is none), %s
 *	(situation name) and %% (a percent sign).  The expanded text has
 *	untrusted parts run through sanitize_text(), is cut at
 *	POLICY_TEXT_MAX octets, then has every '%' doubled as
 *	smfi_setreply() requires.  A reply is filled whenever the enforced
 *	action (would_be) is tempfail or reject, also in monitor mode so the
 *	log can show it; the milter sends it only when action is tempfail
 *	or reject.
 */
#ifndef AUTHREADY_POLICY_H
#define AUTHREADY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "domain.h"
#include "domainname.h"
#include "netlist.h"

#define POLICY_REPLY_MAX 256      /* octets of a configured reply template */
#define POLICY_TEXT_MAX 400       /* octets of an expanded reply text */
#define POLICY_REASON_MAX 512     /* octets of the log reason */
#define POLICY_TAG_MAX 640        /* octets of the tag header value */
#define POLICY_HEADER_MAX 64      /* octets of the tag header name */
#define POLICY_EXEMPT_MAX 256     /* exempt senders; exempt domains */
#define POLICY_EXEMPT_POOL 16384  /* octets of their text */
#define POLICY_OVERRIDES_MAX 4096 /* DomainActions entries */
#define POLICY_OVERRIDES_POOL 65536
#define POLICY_FILE_MAX (4 * 1024 * 1024) /* a list file */
#define POLICY_ADDRESS_MAX 256            /* an exempt sender address */

#define POLICY_TAG_HEADER_DEFAULT "X-Authready"
#define POLICY_REJECT_DEFAULT                                                  \
	"sender domain %d is not ready to send mail: fix %r"
#define POLICY_TEMPFAIL_DEFAULT                                                \
	"sender domain %d is not confirmed ready yet, try again later (%r)"
#define POLICY_DNSERROR_DEFAULT                                                \
	"sender domain %d could not be checked (DNS trouble), try again later"

enum policy_action {
	POLICY_ACCEPT = 0,
	POLICY_TEMPFAIL,
	POLICY_REJECT,
	POLICY_QUARANTINE,
	POLICY_TAG,
	POLICY_MONITOR,
};
#define POLICY_ACTIONS 6

/* The first five have the values of enum domain_readiness. */
enum policy_situation {
	POLICY_ON_UNKNOWN = READINESS_UNKNOWN,
	POLICY_ON_PENDING = READINESS_PENDING,
	POLICY_ON_VERIFIED = READINESS_VERIFIED,
	POLICY_ON_DEGRADED = READINESS_DEGRADED,
	POLICY_ON_FAILED = READINESS_FAILED,
	POLICY_ON_DNSERROR,
};
#define POLICY_SITUATIONS 6
#define POLICY_SCOPE_ALL 0xff /* a DomainActions entry for every one */

enum policy_unregistered {
	POLICY_UNREG_CHECK = 0, /* as a registered domain; no state yet */
	POLICY_UNREG_REJECT,
	POLICY_UNREG_ACCEPT,
};

enum policy_mode {
	POLICY_MODE_ENFORCE = 0,
	POLICY_MODE_MONITOR,
};

/* OutboundBy: which mail is judged. */
enum policy_outbound_by {
	POLICY_OUT_EITHER = 0, /* InternalHosts client or authenticated */
	POLICY_OUT_HOSTS,      /* InternalHosts client */
	POLICY_OUT_AUTH,       /* authenticated ({auth_authen} set) */
	POLICY_OUT_BOTH,       /* both */
};

/* A sorted table of names (and, for DomainActions, action and scope). */
struct policy_entry {
	uint32_t off; /* of the NUL-terminated name in the pool */
	uint8_t len;
	uint8_t action; /* enum policy_action */
	uint8_t scope;  /* enum policy_situation or POLICY_SCOPE_ALL */
	uint8_t unused;
};

struct policy_exempt {
	uint32_t count, used;
	struct policy_entry e[POLICY_EXEMPT_MAX];
	char pool[POLICY_EXEMPT_POOL];
};

struct policy_overrides {
	uint32_t count, used;
	struct policy_entry e[POLICY_OVERRIDES_MAX];
	char pool[POLICY_OVERRIDES_POOL];
};

struct policy_config {
	enum policy_mode mode;                    /* Mode */
	enum policy_action on[POLICY_SITUATIONS]; /* On<Situation> */
	enum policy_unregistered unregistered;    /* UnregisteredDomains */
	enum policy_outbound_by outbound_by;      /* OutboundBy */
	struct netlist internal_hosts;            /* InternalHosts */
	struct policy_exempt exempt_senders;      /* ExemptSenders */
	struct policy_exempt exempt_domains;      /* ExemptDomains */
	struct policy_overrides overrides;        /* DomainActions */
	char reject_reply[POLICY_REPLY_MAX];      /* RejectReply */
	char tempfail_reply[POLICY_REPLY_MAX];    /* TempfailReply */
	char dnserror_reply[POLICY_REPLY_MAX];    /* DNSErrorReply */
	char tag_header[POLICY_HEADER_MAX];       /* TagHeader */
};

struct policy_input {
	bool outbound; /* in scope; see policy_outbound() */
	int revpath;   /* enum revpath_code of the MAIL FROM argument */
	const char *path_error; /* revpath_parse()'s sentence when it failed */
	bool null_sender;       /* MAIL FROM:<> */
	const char *sender;     /* reverse-path without <>; NULL none */
	const char *domain;     /* registry domain (compared ignoring ASCII
	                           case and a root dot); NULL none */
	bool registered;        /* in the registry */
	bool have_state;        /* a stored state exists */
	enum domain_readiness state;
	bool stale;       /* past next_check, or served after DNS trouble */
	bool dns_trouble; /* last check or the wait ended in DNS trouble */
	const char *first_problem; /* "DKIM x._domainkey.example.com missing" */
	bool check_timed_out;      /* waited CheckWait without a result */
	bool registry_stale;       /* the replica has not heard from
	                              PostgreSQL for ReplicaMaxLag: the domain
	                              may have been registered meanwhile */
	uint8_t pass_types;        /* the state's records by type, a bit
	                              (1 << enum check_type) each: with a pass */
	uint8_t problem_types;     /* ... and with anything else */
};

struct policy_decision {
	enum policy_action action;       /* what the milter does */
	enum policy_action would_be;     /* enforced action (== action unless
	                                    action is monitor) */
	enum policy_situation situation; /* meaningful when judged */
	const char *source;              /* static: which setting decided */
	bool judged; /* readiness or registry was consulted */
	bool log;    /* false only for out-of-scope mail */
	bool log_warning;
	bool softened;                      /* a reject became a tempfail */
	char smtp_code[4];                  /* "550", "451"; "" no reply */
	char xcode[8];                      /* "5.7.1", "4.7.1", "4.4.3" */
	char text[2 * POLICY_TEXT_MAX + 1]; /* for smfi_setreply: '%' doubled */
	char reason[POLICY_REASON_MAX];     /* printable, for the log */
	char tag_value[POLICY_TAG_MAX];     /* header value; set for tag only */
	bool fallback; /* the enforced decision (would_be) accepts with the
	                  envelope sender replaced (fallback.h) */
};

/* policy_action_name - "accept" etc.; "invalid" out of range. */
const char *policy_action_name(enum policy_action a);

/* policy_situation_name - "pending", "dnserror", "all" etc. */
const char *policy_situation_name(unsigned s);

/* policy_config_defaults - the built-in policy (see above). */
void policy_config_defaults(struct policy_config *pc);

/* policy_decide - the decision for one MAIL FROM; pure. */
void policy_decide(const struct policy_config *pc,
                   const struct policy_input *in, struct policy_decision *d);

/* policy_exempt - "exempt sender" or "exempt domain" when step 3 of the
 * decision accepts sender (a mailbox, no <>; NULL none) or domain (or a
 * domain above it), else NULL; pure.  The milter asks before it waits
 * for a check, since an exempt sender's readiness cannot matter. */
const char *policy_exempt(const struct policy_config *pc, const char *sender,
                          const char *domain);

/* policy_outbound - in scope by client address and/or SASL login
 * (auth_authen NULL or "" when not authenticated). */
bool policy_outbound(const struct policy_config *pc,
                     const struct sockaddr *client, const char *auth_authen);

/* policy_sends_reply - the milter must call smfi_setreply. */
bool policy_sends_reply(const struct policy_decision *d);

/* policy_may_quarantine - some decision of pc can be quarantine (an
 * On<Situation> or DomainActions entry, in Mode enforce); pure. */
bool policy_may_quarantine(const struct policy_config *pc);

/*
 * Value parsers, one per key.  Each takes (buf, len), never reads past len
 * and returns 0, or -1 with a sentence naming the bad value or entry in
 * err; on error the target is unchanged.
 */
int policy_parse_action(const char *buf, size_t len, enum policy_action *a);
int policy_parse_situation_action(unsigned situation, const char *buf,
                                  size_t len, enum policy_action *a, char *err,
                                  size_t errlen);
int policy_parse_unregistered(const char *buf, size_t len,
                              enum policy_unregistered *u, char *err,
                              size_t errlen);
int policy_parse_mode(const char *buf, size_t len, enum policy_mode *m,
                      char *err, size_t errlen);
int policy_parse_outbound_by(const char *buf, size_t len,
                             enum policy_outbound_by *o, char *err,
                             size_t errlen);
int policy_parse_reply(const char *buf, size_t len, char *out, size_t outlen,
                       char *err, size_t errlen);
int policy_parse_header(const char *buf, size_t len, char *out, size_t outlen,
                        char *err, size_t errlen);

/*
 * List parsers: replace the list.  Entries are separated by commas or
 * newlines; "#" to the end of a line is a comment.  origin (a file name,
 * or NULL for an inline value) prefixes messages as "origin:LINE: ".
 * DomainActions entries are "domain action [situation]" with the words
 * separated by white space, "=" or ":" ("example.com=accept",
 * "example.com reject failed"); a domain with two entries for the same
 * situation is an error.
 */
int policy_exempt_senders_parse(struct policy_exempt *t, const char *buf,
                                size_t len, const char *origin, char *err,
                                size_t errlen);
int policy_exempt_domains_parse(struct policy_exempt *t, const char *buf,
                                size_t len, const char *origin, char *err,
                                size_t errlen);
int policy_overrides_parse(struct policy_overrides *t, const char *buf,
                           size_t len, const char *origin, char *err,
                           size_t errlen);

#endif
