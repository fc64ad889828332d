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
 * DIAGNOSTICS
 *	Every judged MAIL FROM is one log line (decide.c).  A store that
 *	cannot be read gives a tempfail, never a reject.
 */
#include "milter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decide.h"
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
	/* the message in progress */
	bool act_at_eom;
	struct policy_decision decision;
	char domain[DOMAIN_BUF];
	char sender[MILTER_SENDER_MAX];
	char mailbox[HELD_SENDER_MAX]; /* parsed: local@domain, "" none */
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
	decide_init(env->store, env->checkerd);
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
	return SMFIS_ACCEPT;
}

/* milter_envfrom - MAIL FROM: the facts, the decision, the reply. */
static sfsistat
milter_envfrom(SMFICTX *ctx, char **argv)
{
	struct milter_conn *c = smfi_getpriv(ctx);
	struct decide_request rq = {0};
	struct decide_result res;
	const char *arg, *qid;
	char session[32];

	if (c == NULL || c->snap == NULL)
		return SMFIS_TEMPFAIL;
	c->act_at_eom = false;
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
	decide_sender(&c->snap->cfg, &rq, &res);
	if (!res.judged)
		return SMFIS_ACCEPT;
	c->decision = res.decision;
	if (res.facts.code == REVPATH_OK) {
		text_copy(c->mailbox, sizeof(c->mailbox), res.facts.mailbox);
		text_copy(c->domain, sizeof(c->domain), res.facts.lk.domain);
	}
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
	if (qid == NULL || !release_queue_id_ok(qid)) {
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
	atomic_fetch_add(&milter_open, 1);
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
	static const unsigned long skip =
	    SMFIP_NOHELO | SMFIP_NORCPT | SMFIP_NOHDRS | SMFIP_NOEOH |
	    SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_CONN |
	    SMFIP_NR_HELO | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH |
	    SMFIP_NR_BODY | SMFIP_NR_UNKN | SMFIP_NR_DATA;
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
