/*
 * milter.c - the libmilter callbacks of authready-milter; see milter.h.
 *
 * SYNOPSIS
 *	int milter_init(env, err, errlen);
 *	void milter_fini(void);
 *	struct smfiDesc *milter_desc(void);
 *
 * DESCRIPTION
 *	A connection holds a reference to the config snapshot of its start,
 *	so a reload never changes the rules in the middle of a session.
 *	Store readers come from a pool without locks (an atomic exchange
 *	to take one, another to give it back): a lookup takes one, reads and
 *	gives it back, so reader slots do not grow with connections and
 *	decision threads never wait for each other.
 *
 *	The registered domain of a sender domain D is found without DNS:
 *	D itself; else D's parent P when D is P's MAIL FROM name
 *	(bounces@mail.example.com belongs to example.com); else D's
 *	organizational domain.  A registered domain without a state (never
 *	checked) is queued to the checker thread and the session waits at
 *	most CheckWait for it.  The use of a state that may belong to an
 *	unregistered domain is noted for the checker thread
 *	(checkerd_note_use), which keeps such states while mail uses them.
 *
 * DIAGNOSTICS
 *	Every judged MAIL FROM is one log line: session or queue ID, client,
 *	sender, domain, state, action and reason, all sanitized.  A store
 *	that cannot be read gives a tempfail, never a reject.
 */
#include "milter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "address.h"
#include "log.h"
#include "policy.h"
#include "readiness.h"
#include "record.h"
#include "release.h"
#include "revpath.h"
#include "snapshot.h"
#include "text.h"

/* A state this far past its next check is stale (the checker is behind
 * or cannot reach DNS): it may no longer reject. */
#define MILTER_STALE_SLACK 600
#define MILTER_SENDER_MAX 300

struct milter_conn {
	struct snapshot *snap;
	unsigned long session;
	bool nr_conn;	/* connect needs no reply */
	bool have_client;
	struct sockaddr_storage client;
	char client_text[INET6_ADDRSTRLEN + 2];
	/* the message in progress */
	bool act_at_eom;
	struct policy_decision decision;
	char domain[DOMAIN_BUF];
	char sender[MILTER_SENDER_MAX];
	char mailbox[HELD_SENDER_MAX]; /* parsed: local@domain, "" none */
};

/* What the store says about one sender domain. */
struct milter_lookup {
	char domain[DOMAIN_BUF]; /* the registered (or checked) domain */
	bool registered;
	bool reg_assumed; /* registered taken from a verified state, unread */
	bool found;	 /* a state record exists (maybe "unknown") */
	bool have_state; /* ... and it says something other than unknown */
	struct record_state_summary sum;
	char first_problem[DOMAIN_RECORD_DETAIL_MAX + DOMAIN_BUF + 32];
	bool store_error;
};

/* Idle readers: a slot holds one or NULL, the first slots first.  Taking
 * and giving back are an atomic exchange each, so decision threads never
 * wait for each other; a search passes only the slots whose readers are
 * in use at that moment. */
struct milter_pool {
	_Atomic(struct store_reader *) slot[MILTER_READERS_MAX];
};

/* Set once by milter_init() before smfi_main(); read-only afterwards. */
static struct milter_env milter_env;
static struct milter_pool milter_pool;
static _Atomic unsigned long milter_sessions;

/* Reader pool ----------------------------------------------------------- */

static struct store_reader *
milter_reader_get(void)
{
	struct store_reader *rd;
	char err[256];

	for (unsigned k = 0; k < MILTER_READERS_MAX; k++) {
		if (atomic_load_explicit(&milter_pool.slot[k],
			memory_order_relaxed) == NULL)
			continue;
		rd = atomic_exchange(&milter_pool.slot[k], NULL);
		if (rd != NULL)
			return rd;
	}
	if (store_reader_open(milter_env.store, &rd, err, sizeof(err)) != 0) {
		log_msg(LOG_ERR, "event=store-error error=\"%s\"", err);
		return NULL;
	}
	return rd;
}

static void
milter_reader_put(struct store_reader *rd)
{
	for (unsigned k = 0; k < MILTER_READERS_MAX; k++) {
		struct store_reader *empty = NULL;

		if (atomic_compare_exchange_strong(&milter_pool.slot[k], &empty,
			rd))
			return;
	}
	store_reader_close(rd); /* more readers than slots: the extra goes */
}

int
milter_init(const struct milter_env *env, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	milter_env = *env;
	return 0;
}

void
milter_fini(void)
{
	for (unsigned i = 0; i < MILTER_READERS_MAX; i++)
		store_reader_close(atomic_exchange(&milter_pool.slot[i], NULL));
}

/* Store lookups ---------------------------------------------------------- */

/* milter_peek - the state summary of domain; STORE_* status. */
static int
milter_peek(const char *domain, struct record_state_summary *sum)
{
	struct store_reader *rd = milter_reader_get();
	char err[256];
	int rc;

	if (rd == NULL)
		return STORE_ERROR;
	rc = store_state_peek(rd, domain, sum, err, sizeof(err));
	milter_reader_put(rd);
	if (rc == STORE_CORRUPT)
		log_msg(LOG_WARNING,
		    "event=store-corrupt domain=%s error=\"%s\" (re-checked)",
		    domain, err);
	return rc;
}

/* milter_reg - is domain registered, and with which MAIL FROM?  A corrupt
 * entry is logged and counts as absent (the CLI's check reports it). */
static int
milter_reg(struct store_reader *rd, const char *domain,
    struct record_reg_summary *reg)
{
	char err[256];
	int rc = store_read_reg(rd, domain, reg, err, sizeof(err));

	if (rc == STORE_CORRUPT) {
		log_msg(LOG_WARNING,
		    "event=store-corrupt domain=%s error=\"%s\"", domain, err);
		rc = STORE_NOTFOUND;
	}
	return rc;
}

/* milter_try - domain as the answer: its state, or its registry entry.
 * known_registered: the caller has just read domain's registry entry. */
static bool
milter_try(struct store_reader *rd, const char *domain, bool known_registered,
    struct milter_lookup *lk)
{
	struct record_reg_summary reg;
	char err[256];
	int rc = store_read_state(rd, domain, &lk->sum, err, sizeof(err));

	if (rc == STORE_CORRUPT)
		log_msg(LOG_WARNING,
		    "event=store-corrupt domain=%s error=\"%s\" (re-checked)",
		    domain, err);
	if (rc == STORE_ERROR) {
		lk->store_error = true;
		return false;
	}
	if (rc == STORE_OK) {
		text_copy(lk->domain, sizeof(lk->domain), domain);
		lk->found = true;
		lk->have_state = lk->sum.state != READINESS_UNKNOWN;
		/* A verified domain is the hot path: no registry read.  Other
		 * states may come from checks of unregistered domains. */
		lk->reg_assumed = !known_registered &&
		    lk->sum.state == READINESS_VERIFIED;
		lk->registered = known_registered || lk->reg_assumed ||
		    milter_reg(rd, domain, &reg) == STORE_OK;
		return true;
	}
	rc = known_registered ? STORE_OK : milter_reg(rd, domain, &reg);
	if (rc == STORE_OK) {
		text_copy(lk->domain, sizeof(lk->domain), domain);
		lk->registered = true;
		return true;
	}
	if (rc == STORE_ERROR)
		lk->store_error = true;
	return false;
}

/* milter_mail_from_of - is d the MAIL FROM domain of registered p?  p
 * points into d (its parent). */
static bool
milter_mail_from_of(struct store_reader *rd, const struct config *cfg,
    const char *p, const char *d)
{
	char mf[DOMAIN_BUF], err[256];
	struct record_reg_summary reg;

	const char *label;
	size_t n;

	if (milter_reg(rd, p, &reg) != STORE_OK)
		return false;
	label = reg.mail_from[0] ? reg.mail_from : cfg->mail_from;
	/* The usual MAIL FROM setting is one label ("mail") and p is d's
	 * parent: d must be that label, a dot, then p (d is normalized). */
	n = strspn(label, "abcdefghijklmnopqrstuvwxyz"
			  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
	if (n > 0 && label[n] == '\0')
		return (size_t)(p - d) == n + 1 && strncasecmp(d, label, n) == 0;
	if (readiness_mail_from(p, label, mf, sizeof(mf), err, sizeof(err)) !=
	    0)
		return false;
	return strcmp(mf, d) == 0;
}

/* milter_org - the organizational domain of d into org, or "". */
static void
milter_org(const char *d, char org[DOMAIN_BUF])
{
	if (domain_org(d, org, DOMAIN_BUF) != 0)
		org[0] = '\0';
}

/* milter_resolve_in - milter_resolve on one read snapshot.  The
 * organizational domain (a public suffix list search) is looked up only
 * when the first two rules fail; org says whether it was. */
static bool
milter_resolve_in(struct store_reader *rd, const struct config *cfg,
    const char *d, char org[DOMAIN_BUF], bool *have_org,
    struct milter_lookup *lk)
{
	const char *parent = strchr(d, '.');
	bool parent_owns = false;

	if (milter_try(rd, d, false, lk))
		return true;
	if (parent != NULL) {
		parent++;
		parent_owns = milter_mail_from_of(rd, cfg, parent, d);
		if (parent_owns && milter_try(rd, parent, true, lk))
			return true;
	}
	milter_org(d, org);
	*have_org = true;
	/* The organizational domain, unless it is the parent just tried. */
	if (org[0] == '\0' || strcmp(org, d) == 0 ||
	    (parent_owns && strcmp(org, parent) == 0))
		return false;
	return milter_try(rd, org, false, lk);
}

/* milter_resolve - the registered domain that owns sender domain d; lk
 * comes zeroed from the caller. */
static void
milter_resolve(const struct config *cfg, const char *d,
    struct milter_lookup *lk)
{
	struct store_reader *rd;
	char org[DOMAIN_BUF], err[256];
	bool have_org = false, found;

	if ((rd = milter_reader_get()) == NULL) {
		lk->store_error = true;
	} else if (store_read_begin(rd, err, sizeof(err)) != STORE_OK) {
		log_msg(LOG_ERR, "event=store-error error=\"%s\"", err);
		lk->store_error = true;
		milter_reader_put(rd);
	} else {
		found = milter_resolve_in(rd, cfg, d, org, &have_org, lk);
		store_read_end(rd);
		milter_reader_put(rd);
		if (found)
			return;
	}
	/* Unregistered: a check with the global expectations would be of
	 * the organizational domain, whose MAIL FROM name d usually is. */
	if (!have_org)
		milter_org(d, org);
	text_copy(lk->domain, sizeof(lk->domain), org[0] ? org : d);
}

/* milter_first_problem - "DKIM x._domainkey.example.com missing".  Kept
 * out of line: its full state record (6 KB) would otherwise sit in
 * milter_envfrom's frame on every decision, verified ones included, and
 * every new libmilter thread would fault in those stack pages. */
static __attribute__((noinline, cold)) void
milter_first_problem(struct milter_lookup *lk)
{
	struct domain_state st;
	char err[256];
	size_t i;

	if (store_state_get(milter_env.store, lk->domain, &st, err,
		sizeof(err)) != STORE_OK)
		return;
	for (i = 0; i < st.nrecords && i < DOMAIN_RECORDS_MAX; i++) {
		const struct domain_record_status *r = &st.records[i];
		char type[8];
		size_t k;

		if (r->status == CHECK_PASS)
			continue;
		snprintf(type, sizeof(type), "%s",
		    check_type_name((enum check_type)r->type));
		for (k = 0; type[k] != '\0'; k++)
			if (type[k] >= 'a' && type[k] <= 'z')
				type[k] = (char)(type[k] - 'a' + 'A');
		snprintf(lk->first_problem, sizeof(lk->first_problem),
		    "%s %s %s", type, r->name,
		    check_status_name((enum check_status)r->status));
		return;
	}
}

/* milter_wait_check - queue the domain and wait at most CheckWait. */
static bool
milter_wait_check(const struct config *cfg, struct milter_lookup *lk)
{
	struct timespec deadline;
	uint64_t gen;
	struct checkerd *cd = milter_env.checkerd;

	if (cd == NULL)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += cfg->check_wait_ms / 1000;
	deadline.tv_nsec += (long)(cfg->check_wait_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	gen = checkerd_generation(cd);
	if (!checkerd_request(cd, lk->domain, !lk->registered))
		return false;
	for (;;) {
		if (!checkerd_wait(cd, gen, &deadline))
			return false; /* CheckWait passed */
		gen = checkerd_generation(cd);
		if (milter_peek(lk->domain, &lk->sum) != STORE_OK)
			continue;
		lk->found = true;
		lk->have_state = lk->sum.state != READINESS_UNKNOWN;
		/* A state, or a check that DNS trouble left undecided. */
		if (lk->have_state || lk->sum.dns_errors > 0)
			return true;
	}
}

/* Decisions -------------------------------------------------------------- */

static void
milter_log(const struct milter_conn *c, SMFICTX *ctx,
    const struct milter_lookup *lk, const struct policy_decision *d)
{
	struct log_line line;
	const char *qid = smfi_getsymval(ctx, "i");
	char session[32];

	if (!d->log)
		return;
	if (qid == NULL || qid[0] == '\0') {
		snprintf(session, sizeof(session), "s%lu", c->session);
		qid = session;
	}
	log_line_init(&line);
	/* From the client: sanitized.  Ours (an address we formatted, a
	 * normalized domain, names from tables): log_field_text, which
	 * still sanitizes anything that is not printable ASCII. */
	log_field(&line, "session", qid);
	log_field_text(&line, "client", c->client_text);
	log_field(&line, "sender", c->sender);
	log_field_text(&line, "domain", lk != NULL ? lk->domain : "");
	log_field_text(&line, "state",
	    lk == NULL	      ? "-"
	    : lk->have_state ? domain_readiness_name(lk->sum.state)
	    : lk->registered ? "unknown"
			     : "unregistered");
	log_field_text(&line, "action", policy_action_name(d->action));
	if (d->action == POLICY_MONITOR)
		log_field_text(&line, "would", policy_action_name(d->would_be));
	if (d->smtp_code[0] != '\0')
		log_field_text(&line, "reply", d->smtp_code);
	log_field_text(&line, "reason", d->reason);
	log_emit(d->log_warning ? LOG_WARNING : LOG_INFO, &line);
}

/* milter_reply - one place that turns a decision into a milter status. */
static sfsistat
milter_reply(SMFICTX *ctx, struct milter_conn *c,
    const struct policy_decision *d)
{
	switch (d->action) {
	case POLICY_TEMPFAIL:
	case POLICY_REJECT:
		if (policy_sends_reply(d) &&
		    smfi_setreply(ctx, (char *)d->smtp_code, (char *)d->xcode,
			(char *)d->text) != MI_SUCCESS)
			log_msg(LOG_WARNING, "event=setreply-failed code=%s",
			    d->smtp_code);
		return d->action == POLICY_REJECT ? SMFIS_REJECT
						  : SMFIS_TEMPFAIL;
	case POLICY_QUARANTINE:
	case POLICY_TAG:
		c->act_at_eom = true;
		return SMFIS_CONTINUE;
	case POLICY_ACCEPT:
	case POLICY_MONITOR:
		break;
	}
	return SMFIS_ACCEPT;
}

/* milter_bad_path - a reverse-path we cannot parse: the defined reply. */
static sfsistat
milter_bad_path(SMFICTX *ctx, struct milter_conn *c, int code,
    const char *why)
{
	const struct revpath_reply *r = revpath_reply(code);
	struct policy_decision d;

	memset(&d, 0, sizeof(d));
	d.log = true;
	d.log_warning = true;
	snprintf(d.reason, sizeof(d.reason), "bad reverse-path: %s", why);
	if (r != NULL && r->rcode != NULL) {
		d.action = d.would_be = POLICY_REJECT;
		snprintf(d.smtp_code, sizeof(d.smtp_code), "%s", r->rcode);
		snprintf(d.xcode, sizeof(d.xcode), "%s", r->xcode);
		snprintf(d.text, sizeof(d.text), "%s", r->text);
	}
	milter_log(c, ctx, NULL, &d);
	return milter_reply(ctx, c, &d);
}

/* milter_input - the facts for the policy, from the lookup. */
static void
milter_input(const struct milter_lookup *lk, const char *sender,
    bool timed_out, struct policy_input *in)
{
	int64_t now = (int64_t)time(NULL);

	memset(in, 0, sizeof(*in));
	in->outbound = true;
	in->sender = sender;
	in->domain = lk->domain;
	in->registered = lk->registered;
	in->have_state = lk->have_state;
	in->state = lk->have_state ? (enum domain_readiness)lk->sum.state
				   : READINESS_UNKNOWN;
	in->dns_trouble = lk->found && lk->sum.dns_errors > 0;
	in->stale = lk->have_state &&
	    ((lk->sum.next_check > 0 &&
		 now > lk->sum.next_check + MILTER_STALE_SLACK) ||
		in->dns_trouble);
	in->first_problem = lk->first_problem[0] ? lk->first_problem : NULL;
	in->check_timed_out = timed_out;
}

static sfsistat
milter_envfrom(SMFICTX *ctx, char **argv)
{
	struct milter_conn *c = smfi_getpriv(ctx);
	const struct config *cfg;
	struct policy_input in;
	struct milter_lookup lk;
	struct revpath rp;
	char err[256], mailbox[REVPATH_LOCAL_MAX + 1 + REVPATH_DOMAIN_BUF];
	const char *auth, *arg;
	size_t used;
	bool timed_out = false;
	int code;

	if (c == NULL || c->snap == NULL)
		return SMFIS_TEMPFAIL;
	cfg = &c->snap->cfg;
	c->act_at_eom = false;
	c->domain[0] = '\0';
	c->mailbox[0] = '\0';
	arg = argv != NULL && argv[0] != NULL ? argv[0] : "";
	/* Raw, bounded: log_field() sanitizes it once. */
	text_copy(c->sender, sizeof(c->sender), arg);
	auth = smfi_getsymval(ctx, "{auth_authen}");
	if (!policy_outbound(&cfg->policy,
		c->have_client ? (const struct sockaddr *)&c->client : NULL,
		auth))
		return SMFIS_ACCEPT;
	code = revpath_parse(arg, strlen(arg), &rp, err, sizeof(err));
	if (code == REVPATH_SYNTAX || code == REVPATH_TOO_LONG)
		return milter_bad_path(ctx, c, code, err);
	/* The policy matches ExemptSenders against the mailbox, without
	 * angle brackets or source route, its domain normalized. */
	used = text_copy(mailbox, sizeof(mailbox), rp.local);
	text_append(mailbox, sizeof(mailbox), &used, "@");
	text_append(mailbox, sizeof(mailbox), &used, rp.domain);
	memset(&lk, 0, sizeof(lk));
	if (code == REVPATH_OK) {
		milter_resolve(cfg, rp.domain, &lk);
		/* The state of an unregistered domain lives while mail uses
		 * it: note the use for the checker thread (no store write).
		 * A state the wait below creates is stamped by its check;
		 * with UnregisteredDomains accept or reject no state is used
		 * and the old ones expire. */
		if (lk.found && (!lk.registered || lk.reg_assumed) &&
		    cfg->policy.unregistered == POLICY_UNREG_CHECK &&
		    milter_env.checkerd != NULL)
			checkerd_note_use(milter_env.checkerd, lk.domain);
		/* no state yet: check now and wait, unless it cannot matter */
		if (!lk.have_state && !lk.store_error &&
		    !(lk.found && lk.sum.dns_errors > 0 && lk.sum.next_check >
			    (int64_t)time(NULL)) &&
		    (lk.registered ||
			cfg->policy.unregistered == POLICY_UNREG_CHECK) &&
		    policy_exempt(&cfg->policy, mailbox, rp.domain) == NULL)
			timed_out = !milter_wait_check(cfg, &lk);
		if (lk.have_state && lk.sum.state != READINESS_VERIFIED)
			milter_first_problem(&lk);
	}
	if (code == REVPATH_OK)
		text_copy(c->mailbox, sizeof(c->mailbox), mailbox);
	milter_input(&lk, code == REVPATH_NULL ? NULL : mailbox, timed_out,
	    &in);
	in.null_sender = code == REVPATH_NULL;
	if (code != REVPATH_OK)
		in.domain = NULL;
	if (lk.store_error)
		in.dns_trouble = true; /* no state we can trust: never 5xx */
	policy_decide(&cfg->policy, &in, &c->decision);
	text_copy(c->domain, sizeof(c->domain), lk.domain);
	milter_log(c, ctx, code == REVPATH_OK ? &lk : NULL, &c->decision);
	return milter_reply(ctx, c, &c->decision);
}

/* milter_quarantine - hold the message and index it under the domain,
 * with its sender and the door it came through (release.h says why). */
static void
milter_quarantine(SMFICTX *ctx, struct milter_conn *c)
{
	const char *qid = smfi_getsymval(ctx, "i");
	struct held_msg msg;
	char err[256];

	memset(&msg, 0, sizeof(msg));
	snprintf(msg.reason, sizeof(msg.reason), "authready: %.*s",
	    (int)(sizeof(msg.reason) - 16),
	    c->decision.reason[0] ? c->decision.reason : "not ready");
	if (smfi_quarantine(ctx, msg.reason) != MI_SUCCESS) {
		log_msg(LOG_ERR, "event=quarantine-failed domain=%s",
		    c->domain);
		return;
	}
	if (qid == NULL || !release_queue_id_ok(qid)) {
		log_msg(LOG_WARNING,
		    "event=quarantine domain=%s queue_id=%s (no usable {i} "
		    "macro: release by hand)",
		    c->domain, qid != NULL && qid[0] ? "invalid" : "-");
		return;
	}
	text_copy(msg.domain, sizeof(msg.domain), c->domain);
	text_copy(msg.queue_id, sizeof(msg.queue_id), qid);
	text_copy(msg.sender, sizeof(msg.sender), c->mailbox);
	msg.held_at = (int64_t)time(NULL);
	msg.door = milter_env.inet_door ? HELD_DOOR_INET : HELD_DOOR_UNIX;
	if (store_held_put(milter_env.store, &msg, err, sizeof(err)) !=
	    STORE_OK)
		log_msg(LOG_ERR,
		    "event=held-index-failed domain=%s queue_id=%s error=\"%s\"",
		    c->domain, qid, err);
	else
		log_msg(LOG_NOTICE, "event=quarantine domain=%s queue_id=%s "
		    "door=%s",
		    c->domain, qid, milter_env.inet_door ? "inet" : "unix");
}

static sfsistat
milter_eom(SMFICTX *ctx)
{
	struct milter_conn *c = smfi_getpriv(ctx);

	if (c == NULL || !c->act_at_eom)
		return SMFIS_CONTINUE;
	c->act_at_eom = false;
	if (c->decision.action == POLICY_QUARANTINE)
		milter_quarantine(ctx, c);
	else if (c->decision.action == POLICY_TAG &&
	    smfi_addheader(ctx, c->snap->cfg.policy.tag_header,
		c->decision.tag_value) != MI_SUCCESS)
		log_msg(LOG_WARNING, "event=tag-failed domain=%s", c->domain);
	return SMFIS_CONTINUE;
}

/* Session bookkeeping ---------------------------------------------------- */

static struct milter_conn *
milter_conn_new(SMFICTX *ctx)
{
	struct milter_conn *c = smfi_getpriv(ctx);

	if (c != NULL)
		return c;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->snap = snapshot_acquire();
	c->session = atomic_fetch_add(&milter_sessions, 1) + 1;
	snprintf(c->client_text, sizeof(c->client_text), "-");
	smfi_setpriv(ctx, c);
	return c;
}

static sfsistat
milter_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	static const unsigned long skip = SMFIP_NOHELO | SMFIP_NORCPT |
	    SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOBODY | SMFIP_NOUNKNOWN |
	    SMFIP_NODATA | SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_RCPT |
	    SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_NR_UNKN |
	    SMFIP_NR_DATA;
	struct milter_conn *c = milter_conn_new(ctx);

	(void)f2;
	(void)f3;
	*pf0 = f0 & (SMFIF_QUARANTINE | SMFIF_ADDHDRS | SMFIF_SETSYMLIST);
	*pf1 = f1 & skip;
	*pf2 = 0;
	*pf3 = 0;
	if (c != NULL)
		c->nr_conn = (*pf1 & SMFIP_NR_CONN) != 0;
	if (f0 & SMFIF_SETSYMLIST)
		smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen}");
	return SMFIS_CONTINUE;
}

static sfsistat
milter_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
	struct milter_conn *c = milter_conn_new(ctx);

	(void)hostname;
	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (addr != NULL && (addr->sa_family == AF_INET ||
				addr->sa_family == AF_INET6)) {
		size_t len = addr->sa_family == AF_INET
		    ? sizeof(struct sockaddr_in)
		    : sizeof(struct sockaddr_in6);
		const void *a = addr->sa_family == AF_INET
		    ? (const void *)&((struct sockaddr_in *)addr)->sin_addr
		    : (const void *)&((struct sockaddr_in6 *)addr)->sin6_addr;

		memcpy(&c->client, addr, len);
		c->have_client = true;
		inet_ntop(addr->sa_family, a, c->client_text,
		    sizeof(c->client_text));
	}
	return c->nr_conn ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
milter_abort(SMFICTX *ctx)
{
	struct milter_conn *c = smfi_getpriv(ctx);

	if (c != NULL)
		c->act_at_eom = false;
	return SMFIS_CONTINUE;
}

static sfsistat
milter_close(SMFICTX *ctx)
{
	struct milter_conn *c = smfi_getpriv(ctx);

	if (c != NULL) {
		snapshot_release(c->snap);
		free(c);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

static struct smfiDesc milter_description = {
	.xxfi_name = MILTER_NAME,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_QUARANTINE | SMFIF_ADDHDRS,
	.xxfi_connect = milter_connect,
	.xxfi_envfrom = milter_envfrom,
	.xxfi_eom = milter_eom,
	.xxfi_abort = milter_abort,
	.xxfi_close = milter_close,
	.xxfi_negotiate = milter_negotiate,
};

struct smfiDesc *
milter_desc(void)
{
	return &milter_description;
}
