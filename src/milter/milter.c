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
 *	Store readers come from a pool without locks (an atomic exchange
 *	to take one, another to give it back): a lookup takes one, reads and
 *	gives it back, so reader slots do not grow with connections and
 *	decision threads never wait for each other.
 *
 *	At MAIL FROM the rules of sender.c give the facts (who owns the
 *	sender domain, whether to wait for a check, how stale the state is)
 *	and policy_decide() the action; this file only gives sender.c its
 *	reads and its wait (struct sender_env on the reader pool and the
 *	checker thread), logs the decision and sends the reply.
 *
 * DIAGNOSTICS
 *	Every judged MAIL FROM is one log line: session or queue ID, client,
 *	sender, domain, state, action and reason, all sanitized, and an
 *	oddity of the reverse-path that was let through (oddity=).  A store
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
#include <time.h>

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
/* Sessions with a context: a stop waits for them before the store and
 * the checker they use go away (milter_sessions_open). */
static _Atomic long milter_open;

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

/* The sender module's env: the store and the checker thread ----------- */

/* One MAIL FROM's reads and wait (sender.h's struct sender_env). */
struct milter_io {
	struct store_reader *rd; /* between begin and end */
	uint64_t gen;            /* checker commits seen */
	struct timespec deadline;
};

/* milter_corrupt - log a record that failed validation. */
static int
milter_corrupt(int rc, const char *domain, const char *err, const char *then)
{
	if (rc == STORE_CORRUPT)
		log_msg(LOG_WARNING,
		        "event=store-corrupt domain=%s error=\"%s\"%s", domain,
		        err, then);
	return rc;
}

/* milter_begin - a pooled reader and one read snapshot. */
static int
milter_begin(void *impl)
{
	struct milter_io *io = impl;
	char err[256];

	if ((io->rd = milter_reader_get()) == NULL)
		return STORE_ERROR;
	if (store_read_begin(io->rd, err, sizeof(err)) != STORE_OK) {
		log_msg(LOG_ERR, "event=store-error error=\"%s\"", err);
		milter_reader_put(io->rd);
		io->rd = NULL;
		return STORE_ERROR;
	}
	return STORE_OK;
}

/* milter_end - end the snapshot; the reader goes back to the pool. */
static void
milter_end(void *impl)
{
	struct milter_io *io = impl;

	store_read_end(io->rd);
	milter_reader_put(io->rd);
	io->rd = NULL;
}

/* milter_state - a state summary inside the snapshot. */
static int
milter_state(void *impl, const char *domain,
             struct storecodec_state_summary *sum)
{
	struct milter_io *io = impl;
	char err[256];

	return milter_corrupt(
	    store_read_state(io->rd, domain, sum, err, sizeof(err)), domain,
	    err, " (re-checked)");
}

/* milter_reg - a corrupt entry counts as absent (the CLI's check
 * reports it). */
static int
milter_reg(void *impl, const char *domain, struct storecodec_reg_summary *reg)
{
	struct milter_io *io = impl;
	char err[256];

	return milter_corrupt(
	    store_read_reg(io->rd, domain, reg, err, sizeof(err)), domain, err,
	    "");
}

/* milter_peek - a state summary in a read of its own. */
static int
milter_peek(void *impl, const char *domain,
            struct storecodec_state_summary *sum)
{
	struct store_reader *rd = milter_reader_get();
	char err[256];
	int rc;

	(void)impl;
	if (rd == NULL)
		return STORE_ERROR;
	rc = store_state_peek(rd, domain, sum, err, sizeof(err));
	milter_reader_put(rd);
	return milter_corrupt(rc, domain, err, " (re-checked)");
}

/* milter_request - queue a check; the wait ends wait_ms from now. */
static bool
milter_request(void *impl, const char *domain, bool unregistered,
               unsigned wait_ms)
{
	struct milter_io *io = impl;
	struct checkerd *cd = milter_env.checkerd;

	if (cd == NULL)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &io->deadline);
	io->deadline.tv_sec += wait_ms / 1000;
	io->deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (io->deadline.tv_nsec >= 1000000000) {
		io->deadline.tv_sec++;
		io->deadline.tv_nsec -= 1000000000;
	}
	io->gen = checkerd_generation(cd);
	return checkerd_request(cd, domain, unregistered);
}

/* milter_wait - until the checker commits again, or the deadline. */
static bool
milter_wait(void *impl)
{
	struct milter_io *io = impl;

	if (!checkerd_wait(milter_env.checkerd, io->gen, &io->deadline))
		return false;
	io->gen = checkerd_generation(milter_env.checkerd);
	return true;
}

/* milter_note_use - tell the checker thread mail used the state. */
static void
milter_note_use(void *impl, const char *domain)
{
	(void)impl;
	if (milter_env.checkerd != NULL)
		checkerd_note_use(milter_env.checkerd, domain);
}

/* milter_now - the wall clock, unix seconds. */
static int64_t
milter_now(void *impl)
{
	(void)impl;
	return (int64_t)time(NULL);
}

/* Decisions -------------------------------------------------------------- */

/* milter_log - the decision line. */
static void
milter_log(const struct milter_conn *c, SMFICTX *ctx,
           const struct sender_facts *f, const struct policy_decision *d)
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
	log_field_text(&line, "domain",
	               f->code == REVPATH_OK ? f->lk.domain : "");
	log_field_text(&line, "state", sender_state_name(f));
	log_field_text(&line, "action", policy_action_name(d->action));
	if (d->action == POLICY_MONITOR)
		log_field_text(&line, "would", policy_action_name(d->would_be));
	if (d->smtp_code[0] != '\0')
		log_field_text(&line, "reply", d->smtp_code);
	log_field_text(&line, "reason", d->reason);
	if (f->oddity != NULL)
		log_field_text(&line, "oddity", f->oddity);
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

/* milter_envfrom - MAIL FROM: the facts, the decision, the reply. */
static sfsistat
milter_envfrom(SMFICTX *ctx, char **argv)
{
	static const struct sender_env env_fns = {
	    .begin = milter_begin,
	    .end = milter_end,
	    .state = milter_state,
	    .reg = milter_reg,
	    .peek = milter_peek,
	    .request = milter_request,
	    .wait = milter_wait,
	    .note_use = milter_note_use,
	    .now = milter_now,
	};
	struct milter_conn *c = smfi_getpriv(ctx);
	struct milter_io io = {0};
	struct sender_env env = env_fns;
	struct sender_rules rules;
	const struct config *cfg;
	struct sender_facts f;
	const char *arg;

	if (c == NULL || c->snap == NULL)
		return SMFIS_TEMPFAIL;
	cfg = &c->snap->cfg;
	c->act_at_eom = false;
	c->domain[0] = '\0';
	c->mailbox[0] = '\0';
	arg = argv != NULL && argv[0] != NULL ? argv[0] : "";
	/* Raw, bounded: log_field() sanitizes it once. */
	text_copy(c->sender, sizeof(c->sender), arg);
	if (!policy_outbound(
	        &cfg->policy,
	        c->have_client ? (const struct sockaddr *)&c->client : NULL,
	        smfi_getsymval(ctx, "{auth_authen}")))
		return SMFIS_ACCEPT;
	env.impl = &io;
	rules.policy = &cfg->policy;
	rules.mail_from = cfg->mail_from;
	rules.check_wait_ms = cfg->check_wait_ms;
	sender_facts(&env, &rules, arg, &f);
	policy_decide(&cfg->policy, &f.in, &c->decision);
	if (f.code == REVPATH_OK) {
		text_copy(c->mailbox, sizeof(c->mailbox), f.mailbox);
		text_copy(c->domain, sizeof(c->domain), f.lk.domain);
	}
	milter_log(c, ctx, &f, &c->decision);
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
	if (qid == NULL || !release_queue_id_ok(qid, c->snap->cfg.mta)) {
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
		        "event=held-index-failed domain=%s queue_id=%s "
		        "error=\"%s\"",
		        c->domain, qid, err);
	else
		log_msg(LOG_NOTICE,
		        "event=quarantine domain=%s queue_id=%s "
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
