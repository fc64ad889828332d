/*
 * milter.c - the libmilter callbacks of authready-milter; see milter.h.
 *
 * SYNOPSIS
 *	int milter_init(env, err, errlen);
 *	void milter_fini(void);
 *	long milter_sessions_open(void);
 *	struct smfiDesc *milter_desc(void);
 *
 * DESCRIPTION
 *	A connection holds a reference to the config snapshot of its start,
 *	so a reload never changes the rules in the middle of a session.
 *
 *	At MAIL FROM decide_sender() (decide.c, shared with the policy
 *	door) judges the sender on the store and the checker thread and logs
 *	the decision; this file gives it the macros and sends the reply.
 *
 *	With FromCheck on, decide_sender() judges without logging, and a
 *	MAIL FROM decision that is not a tempfail or reject is kept; the
 *	header callback counts the From fields and parses the first
 *	(fromhdr.c), and at end of headers the From mailbox goes through
 *	the same sender rules and policy (decide_mailbox(), on the same
 *	store and checker), and fromcheck_decide_aligned() gives the one
 *	decision, logged once with both identities: the envelope's, the
 *	From's and, when the From does not align as AlignmentRequired says
 *	(the facts from both identities' stored states: orgs, the From's
 *	adkim/aspf, which owners have a verified DKIM key), OnMisaligned's.
 *	The policy door sees no headers: FromCheck is the milter's alone.
 *
 *	With OnMailFromNotReady fallback, SMFIF_CHGFROM is negotiated, and
 *	a sender whose domain fails only its MAIL FROM records (DKIM and
 *	DMARC valid; fallback.c) is accepted and, at end of message,
 *	replaced by FallbackMailFrom (smfi_chgfrom), logged with both
 *	addresses; when the MTA refuses the change the message gets a
 *	tempfail, never leaves with the sender that is not ready.
 *
 * DIAGNOSTICS
 *	Every judged MAIL FROM is one log line (decide.c's, or with
 *	FromCheck the end of headers' here, naming both identities).  A
 *	store that cannot be read gives a tempfail, never a reject.
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

#include "decide.h"
#include "domainname.h"
#include "fallback.h"
#include "fromcheck.h"
#include "fromhdr.h"
#include "log.h"
#include "policy.h"
#include "release.h"
#include "sender.h"
#include "snapshot.h"
#include "text.h"

#define MILTER_SENDER_MAX 300

struct milter_conn {
	struct snapshot *snap;
	unsigned long session;
	bool nr_conn; /* connect needs no reply */
	bool have_client;
	struct sockaddr_storage client;
	char client_text[INET6_ADDRSTRLEN + 2];
	/* SMFIF_CHGFROM negotiated: OnMailFromNotReady fallback is
	 * configured and the MTA offered it */
	bool may_chgfrom;
	/* the message in progress */
	bool act_at_eom;
	bool chgfrom; /* the envelope sender becomes FallbackMailFrom */
	struct policy_decision decision;
	char domain[DOMAIN_BUF];
	char sender[MILTER_SENDER_MAX];
	char mailbox[HELD_SENDER_MAX]; /* parsed: local@domain, "" none */
	/* FromCheck: the envelope's part, kept for end of headers */
	bool nr_hdr;       /* a header needs no reply */
	bool judge_at_eoh; /* the decision waits for the From header */
	const char *env_state;
	size_t env_label; /* env_state as decide_state_label() */
	unsigned from_fields;
	int from_code;
	struct fromhdr from;
	char from_err[FROMHDR_ERR_MAX];
	/* alignment: the envelope's identities, kept for end of headers */
	bool env_null;               /* MAIL FROM:<> */
	char env_domain[DOMAIN_BUF]; /* the MAIL FROM domain */
	char env_org[DOMAIN_BUF];    /* its organizational domain */
	bool env_signs;              /* its owner has a verified DKIM key */
	char env_signer[DOMAIN_BUF], env_signer_org[DOMAIN_BUF];
};

/* Set once by milter_init() before smfi_main(); read-only afterwards. */
static struct milter_env milter_env;
static _Atomic unsigned long milter_sessions;
/* Sessions with a context: a stop waits for them before the store and
 * the checker they use go away (milter_sessions_open). */
static _Atomic long milter_open;

int
milter_init(const struct milter_env *env, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	milter_env = *env;
	decide_init(env->store, env->checkerd, env->replica);
	return 0;
}

void
milter_fini(void)
{
	decide_fini();
}

/* Decisions -------------------------------------------------------------- */

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
	if (c->chgfrom) { /* the sender is replaced at end of message */
		c->act_at_eom = true;
		return SMFIS_CONTINUE;
	}
	return SMFIS_ACCEPT;
}

/* milter_keep_envelope - what alignment needs of the envelope at end of
 * headers: its domain and org (FallbackMailFrom's when the sender is
 * replaced: that is the envelope receivers judge SPF on), its owner as a
 * DKIM signer. */
static void
milter_keep_envelope(struct milter_conn *c, const struct config *cfg,
                     const struct sender_facts *f)
{
	const char *at;

	c->env_null = f->code == REVPATH_NULL;
	c->env_domain[0] = c->env_org[0] = '\0';
	if (c->chgfrom && (at = strrchr(cfg->fallback.address, '@')) != NULL) {
		text_copy(c->env_domain, sizeof(c->env_domain), at + 1);
		if (domain_org(c->env_domain, c->env_org, sizeof(c->env_org)) !=
		    0)
			text_copy(c->env_org, sizeof(c->env_org),
			          c->env_domain);
	} else if (f->code == REVPATH_OK) {
		text_copy(c->env_domain, sizeof(c->env_domain), f->rp.domain);
		text_copy(c->env_org, sizeof(c->env_org), f->lk.org);
	}
	c->env_signs = sender_alignment_known(f) &&
	               sender_signer(f, c->env_signer, c->env_signer_org);
}

/* milter_envfrom - MAIL FROM: the facts, the decision, the reply. */
static sfsistat
milter_envfrom(SMFICTX *ctx, char **argv)
{
	struct milter_conn *c = smfi_getpriv(ctx);
	struct decide_request rq = {0};
	struct decide_result res;
	const struct config *cfg;
	const char *arg, *qid;
	char session[32];

	if (c == NULL || c->snap == NULL)
		return SMFIS_TEMPFAIL;
	cfg = &c->snap->cfg;
	c->act_at_eom = false;
	c->chgfrom = false;
	c->judge_at_eoh = false;
	c->from_fields = 0;
	c->domain[0] = '\0';
	c->mailbox[0] = '\0';
	arg = argv != NULL && argv[0] != NULL ? argv[0] : "";
	/* Raw, bounded: log_field() sanitizes it once. */
	text_copy(c->sender, sizeof(c->sender), arg);
	if ((qid = smfi_getsymval(ctx, "i")) == NULL || qid[0] == '\0') {
		snprintf(session, sizeof(session), "s%lu", c->session);
		qid = session;
	}
	rq.path = arg;
	rq.client = c->have_client ? (const struct sockaddr *)&c->client : NULL;
	rq.auth = smfi_getsymval(ctx, "{auth_authen}");
	rq.session = qid;
	rq.client_text = c->client_text;
	rq.sender_text = c->sender;
	rq.may_wait = true;
	/* With FromCheck the line may wait for end of headers. */
	rq.quiet = cfg->from.mode != FROMCHECK_OFF;
	rq.fallback = c->may_chgfrom ? cfg->fallback.address : NULL;
	decide_sender(cfg, &rq, &res);
	if (!res.judged)
		return SMFIS_ACCEPT;
	c->decision = res.decision;
	/* Kept whatever the From's decision adds at end of headers (a tag,
	 * a quarantine): the envelope's domain is not ready to be the
	 * sender.  A reject or tempfail there ends the message anyway. */
	c->chgfrom =
	    res.decision.fallback && res.decision.action == POLICY_ACCEPT;
	if (res.facts.code == REVPATH_OK) {
		text_copy(c->mailbox, sizeof(c->mailbox), res.facts.mailbox);
		text_copy(c->domain, sizeof(c->domain), res.facts.lk.domain);
	}
	/* With FromCheck the From header is judged too: a decision the
	 * envelope alone does not settle (no reply now) waits for the end
	 * of headers, and is logged there with both identities. */
	if (cfg->from.mode != FROMCHECK_OFF &&
	    c->decision.action != POLICY_REJECT &&
	    c->decision.action != POLICY_TEMPFAIL) {
		c->judge_at_eoh = true;
		c->env_state = sender_state_name(&res.facts);
		milter_keep_envelope(c, cfg, &res.facts);
		c->env_label = decide_state_label(&res.facts);
		return SMFIS_CONTINUE;
	}
	if (rq.quiet)
		decide_log(&rq, &res.facts, &c->decision);
	return milter_reply(ctx, c, &c->decision);
}

/* milter_header - keep what the decision needs of the From fields:
 * how many, and the first one parsed (libmilter hands a C string, so
 * the value ends at a NUL the MTA let through). */
static sfsistat
milter_header(SMFICTX *ctx, char *name, char *value)
{
	struct milter_conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	if (c->judge_at_eoh && name != NULL && strcasecmp(name, "From") == 0 &&
	    c->from_fields++ == 0)
		c->from_code =
		    fromhdr_parse(value, value != NULL ? strlen(value) : 0,
		                  &c->from, c->from_err, sizeof(c->from_err));
	return c->nr_hdr ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* milter_log_eoh - the decision line at end of headers: both
 * identities, both states, and which one decided. */
static void
milter_log_eoh(const struct milter_conn *c, SMFICTX *ctx,
               const struct sender_facts *ff, const struct fromcheck_facts *hf,
               const struct fromcheck_decision *fd)
{
	const struct policy_decision *d = &fd->d;
	const char *qid = smfi_getsymval(ctx, "i");
	char session[32], reason[POLICY_REASON_MAX + FROMHDR_ERR_MAX + 8];
	struct log_line line;

	if (!d->log)
		return;
	if (qid == NULL || qid[0] == '\0') {
		snprintf(session, sizeof(session), "s%lu", c->session);
		qid = session;
	}
	log_line_init(&line);
	log_field(&line, "session", qid);
	log_field_text(&line, "client", c->client_text);
	log_field(&line, "sender", c->sender);
	log_field_text(&line, "domain", c->domain);
	log_field_text(&line, "state", c->env_state);
	log_field(&line, "from", ff != NULL ? ff->mailbox : "");
	log_field_text(&line, "from_domain", ff != NULL ? ff->lk.domain : "");
	log_field_text(&line, "from_state",
	               ff != NULL ? sender_state_name(ff)
	                          : fromcheck_problem_name(fd->problem));
	log_field_text(&line, "action", policy_action_name(d->action));
	if (d->action == POLICY_MONITOR)
		log_field_text(&line, "would", policy_action_name(d->would_be));
	if (c->snap->cfg.from.mode == FROMCHECK_MONITOR)
		log_field_text(&line, "from_would",
		               policy_action_name(fd->from_would));
	if (d->smtp_code[0] != '\0')
		log_field_text(&line, "reply", d->smtp_code);
	log_field_text(&line, "decided", fromcheck_by_name(fd->by));
	log_field_text(&line, "align",
	               fd->align_judged ? fromcheck_aligned_name(fd->aligned)
	                                : "-");
	if (fd->misaligned)
		log_field_text(
		    &line, "misaligned",
		    fromcheck_align_req_name(c->snap->cfg.from.align));
	if (c->chgfrom && d->action != POLICY_REJECT &&
	    d->action != POLICY_TEMPFAIL)
		log_field_text(&line, "fallback",
		               c->snap->cfg.fallback.address);
	if (fd->problem == FROMCHECK_INVALID && hf->fields == 1 &&
	    c->from_err[0] != '\0')
		snprintf(reason, sizeof(reason), "%s: %s", d->reason,
		         c->from_err);
	else
		snprintf(reason, sizeof(reason), "%s", d->reason);
	log_field(&line, "reason", reason);
	log_emit(d->log_warning || fd->problem != FROMCHECK_NONE ? LOG_WARNING
	                                                         : LOG_INFO,
	         &line);
}

/* The alignment facts of one message and the names they point to. */
struct milter_align {
	struct fromcheck_align_facts af;
	char signer[DOMAIN_BUF], signer_org[DOMAIN_BUF];
};

/* milter_align_facts - the facts alignment is judged on, or NULL when
 * it is not judged: no From domain, an exempt From, or a From whose
 * owner has no known, fresh state (its readiness decides alone). */
static const struct fromcheck_align_facts *
milter_align_facts(const struct milter_conn *c, const struct config *cfg,
                   const struct sender_facts *ff, struct milter_align *m)
{
	struct fromcheck_align_facts *af = &m->af;

	if (ff == NULL || !sender_alignment_known(ff) ||
	    policy_exempt(&cfg->policy, ff->in.sender, ff->rp.domain) != NULL)
		return NULL;
	memset(af, 0, sizeof(*af));
	af->from_domain = ff->rp.domain;
	af->from_org = ff->lk.org;
	af->adkim = ff->lk.sum.adkim;
	af->aspf = ff->lk.sum.aspf;
	af->env_domain = c->env_null ? NULL : c->env_domain;
	af->env_org = c->env_org;
	if (sender_signer(ff, m->signer, m->signer_org)) {
		af->signer[af->nsigners].domain = m->signer;
		af->signer[af->nsigners++].org = m->signer_org;
	}
	if (c->env_signs) {
		af->signer[af->nsigners].domain = c->env_signer;
		af->signer[af->nsigners++].org = c->env_signer_org;
	}
	return af;
}

/* milter_eoh - end of headers: the From domain's facts and decision,
 * combined with the envelope's (fromcheck.c), logged and replied. */
static sfsistat
milter_eoh(SMFICTX *ctx)
{
	struct milter_conn *c = smfi_getpriv(ctx);
	struct policy_decision from;
	struct fromcheck_decision fd;
	struct fromcheck_facts hf;
	struct milter_align af;
	const struct config *cfg;
	struct sender_facts *ff = NULL;

	if (c == NULL || !c->judge_at_eoh)
		return SMFIS_CONTINUE;
	c->judge_at_eoh = false;
	cfg = &c->snap->cfg;
	hf.fields = c->from_fields;
	hf.code = c->from_code;
	hf.fh = c->from_fields > 0 ? &c->from : NULL;
	if (fromcheck_problem(&hf) == FROMCHECK_NONE &&
	    (ff = malloc(sizeof(*ff))) == NULL)
		return SMFIS_TEMPFAIL;
	if (ff != NULL)
		decide_mailbox(cfg, c->from.local, c->from.local_cut,
		               c->from.box[0].domain, ff, &from);
	fromcheck_decide_aligned(&cfg->from, &cfg->policy, &c->decision, &hf,
	                         ff != NULL ? &from : NULL,
	                         milter_align_facts(c, cfg, ff, &af), &fd);
	decide_count(fd.d.action, fd.by == FROMCHECK_BY_FROM && ff != NULL
	                              ? decide_state_label(ff)
	                              : c->env_label);
	milter_log_eoh(c, ctx, ff, &hf, &fd);
	if (fd.by == FROMCHECK_BY_FROM || fd.by == FROMCHECK_BY_ALIGNMENT)
		text_copy(c->domain, sizeof(c->domain), ff->lk.domain);
	free(ff);
	c->decision = fd.d;
	c->act_at_eom = false;
	return milter_reply(ctx, c, &c->decision);
}

/* milter_quarantine - hold the message and index it under the domain,
 * with its sender and the door it came through (release.h says why). */
static void
milter_quarantine(SMFICTX *ctx, struct milter_conn *c)
{
	const char *qid = smfi_getsymval(ctx, "i");
	char reason[HELD_REASON_MAX];

	snprintf(reason, sizeof(reason), "authready: %.*s",
	         (int)(sizeof(reason) - 16),
	         c->decision.reason[0] ? c->decision.reason : "not ready");
	if (smfi_quarantine(ctx, reason) != MI_SUCCESS) {
		log_msg(LOG_ERR, "event=quarantine-failed domain=%s",
		        c->domain);
		return;
	}
	if (qid == NULL || !release_queue_id_ok(qid, c->snap->cfg.mta)) {
		log_msg(LOG_WARNING,
		        "event=quarantine domain=%s queue_id=%s (no usable {i} "
		        "macro: release by hand)",
		        c->domain, qid != NULL && qid[0] ? "invalid" : "-");
		return;
	}
	decide_hold_index(c->domain, qid, c->mailbox, reason,
	                  milter_env.inet_door ? HELD_DOOR_INET
	                                       : HELD_DOOR_UNIX);
}

/* milter_chgfrom - the envelope sender becomes FallbackMailFrom;
 * logged with both addresses.  False when the MTA refused it. */
static bool
milter_chgfrom(SMFICTX *ctx, struct milter_conn *c)
{
	const char *fb = c->snap->cfg.fallback.address;
	const char *qid = smfi_getsymval(ctx, "i");
	char path[FALLBACK_ADDRESS_MAX + 2], session[32];
	struct log_line line;
	int rc;

	if (qid == NULL || qid[0] == '\0') {
		snprintf(session, sizeof(session), "s%lu", c->session);
		qid = session;
	}
	snprintf(path, sizeof(path), "<%s>", fb);
	rc = smfi_chgfrom(ctx, path, NULL);
	log_line_init(&line);
	log_field_text(&line, "event",
	               rc == MI_SUCCESS ? "fallback" : "fallback-failed");
	log_field(&line, "session", qid);
	log_field(&line, "sender", c->sender);
	log_field_text(&line, "domain", c->domain);
	log_field_text(&line, "fallback", fb);
	log_emit(rc == MI_SUCCESS ? LOG_NOTICE : LOG_ERR, &line);
	return rc == MI_SUCCESS;
}

static sfsistat
milter_eom(SMFICTX *ctx)
{
	struct milter_conn *c = smfi_getpriv(ctx);
	sfsistat rc;

	/* An MTA that skipped end of headers: the From is judged here,
	 * never let through unjudged. */
	if (c != NULL && c->judge_at_eoh) {
		rc = milter_eoh(ctx);
		if (rc == SMFIS_REJECT || rc == SMFIS_TEMPFAIL)
			return rc;
	}
	if (c == NULL || !c->act_at_eom)
		return SMFIS_CONTINUE;
	c->act_at_eom = false;
	/* Never out with the sender that is not ready: 451 instead. */
	if (c->chgfrom && !milter_chgfrom(ctx, c))
		return SMFIS_TEMPFAIL;
	c->chgfrom = false;
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
	atomic_fetch_add(&milter_open, 1);
	c->snap = snapshot_acquire();
	c->session = atomic_fetch_add(&milter_sessions, 1) + 1;
	snprintf(c->client_text, sizeof(c->client_text), "-");
	smfi_setpriv(ctx, c);
	return c;
}

/* milter_warn_no_chgfrom - once: the MTA cannot change the sender, so
 * OnMailFromNotReady fallback rejects as reject would. */
static void
milter_warn_no_chgfrom(void)
{
	static atomic_flag warned = ATOMIC_FLAG_INIT;

	if (!atomic_flag_test_and_set(&warned))
		log_msg(LOG_WARNING,
		        "event=fallback-unavailable error=\"the MTA does not "
		        "offer to change the sender (SMFIF_CHGFROM): "
		        "OnMailFromNotReady fallback rejects\"");
}

static sfsistat
milter_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                 unsigned long f2, unsigned long f3, unsigned long *pf0,
                 unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	static const unsigned long skip =
	    SMFIP_NOHELO | SMFIP_NORCPT | SMFIP_NOHDRS | SMFIP_NOEOH |
	    SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_CONN |
	    SMFIP_NR_HELO | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH |
	    SMFIP_NR_BODY | SMFIP_NR_UNKN | SMFIP_NR_DATA;
	/* FromCheck: headers (no reply each) and end of headers as well */
	static const unsigned long skip_from =
	    skip & ~(unsigned long)(SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NR_EOH);
	struct milter_conn *c = milter_conn_new(ctx);
	bool from = c != NULL && c->snap != NULL &&
	            c->snap->cfg.from.mode != FROMCHECK_OFF;
	bool fallback = c != NULL && c->snap != NULL &&
	                c->snap->cfg.fallback.mode == FALLBACK_ON;

	(void)f2;
	(void)f3;
	/* SMFIF_CHGFROM only when OnMailFromNotReady fallback may use it */
	*pf0 = f0 & (SMFIF_QUARANTINE | SMFIF_ADDHDRS | SMFIF_SETSYMLIST |
	             (fallback ? SMFIF_CHGFROM : 0));
	*pf1 = f1 & (from ? skip_from : skip);
	*pf2 = 0;
	*pf3 = 0;
	if (c != NULL) {
		c->nr_conn = (*pf1 & SMFIP_NR_CONN) != 0;
		c->nr_hdr = (*pf1 & SMFIP_NR_HDR) != 0;
		c->may_chgfrom = (*pf0 & SMFIF_CHGFROM) != 0;
	}
	if (fallback && (f0 & SMFIF_CHGFROM) == 0)
		milter_warn_no_chgfrom();
	if (f0 & SMFIF_SETSYMLIST) {
		smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen}");
		if (from)
			smfi_setsymlist(ctx, SMFIM_EOH, "i");
	}
	return SMFIS_CONTINUE;
}

static sfsistat
milter_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
	struct milter_conn *c = milter_conn_new(ctx);

	(void)hostname;
	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (addr != NULL &&
	    (addr->sa_family == AF_INET || addr->sa_family == AF_INET6)) {
		size_t len = addr->sa_family == AF_INET
		                 ? sizeof(struct sockaddr_in)
		                 : sizeof(struct sockaddr_in6);
		const void *a =
		    addr->sa_family == AF_INET
		        ? (const void *)&((struct sockaddr_in *)addr)->sin_addr
		        : (const void *)&((struct sockaddr_in6 *)addr)
		              ->sin6_addr;

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

	if (c != NULL) {
		c->act_at_eom = false;
		c->chgfrom = false;
		c->judge_at_eoh = false;
	}
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
		atomic_fetch_sub(&milter_open, 1);
	}
	return SMFIS_CONTINUE;
}

long
milter_sessions_open(void)
{
	return atomic_load(&milter_open);
}

static struct smfiDesc milter_description = {
    .xxfi_name = MILTER_NAME,
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_QUARANTINE | SMFIF_ADDHDRS,
    .xxfi_connect = milter_connect,
    .xxfi_envfrom = milter_envfrom,
    .xxfi_header = milter_header,
    .xxfi_eoh = milter_eoh,
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
