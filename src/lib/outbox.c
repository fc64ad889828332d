/*
 * outbox.c - put webhook events into the store's outbox; see outbox.h.
 *
 * SYNOPSIS
 *	#include "outbox.h"
 *
 *	bool outbox_enabled(const struct config *cfg);
 *	int outbox_put(struct store_batch *b, const struct config *cfg,
 *	    struct webhook_event *ev, char *err, size_t errlen);
 *	int outbox_state(struct store_batch *b, const struct config *cfg,
 *	    enum webhook_type type, int previous,
 *	    const struct domain_state *st, int64_t now, char *err,
 *	    size_t errlen);
 *	char *outbox_event_json(struct webhook_event *ev, size_t *len,
 *	    char *err, size_t errlen);
 *	char *outbox_state_json(enum webhook_type type, int previous,
 *	    const struct domain_state *st, int64_t now, size_t *len,
 *	    char *err, size_t errlen);
 *	void outbox_new_id(char id[WEBHOOK_ID_LEN + 1]);
 *	int outbox_domain_remove(struct store *st, const struct config *cfg,
 *	    const char *domain, char *err, size_t errlen);
 *
 * DESCRIPTION
 *	The glue between webhook.c (pure: the JSON) and store.c (the
 *	outbox database): an id, the clock, the batch.
 */
#include "outbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "errbuf.h"
#include "state.h"

#define OUTBOX_SUMMARY_MAX 1024

bool
outbox_enabled(const struct config *cfg)
{
	return cfg != NULL && cfg->webhooks.count > 0;
}

void
outbox_new_id(char id[WEBHOOK_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[WEBHOOK_ID_LEN / 2];
	size_t got = 0;

	while (got < sizeof(r)) {
		ssize_t n = getrandom(r + got, sizeof(r) - got, 0);

		if (n > 0)
			got += (size_t)n;
		else if (n < 0 && errno != EINTR)
			abort(); /* getrandom(2) with no flags does not fail */
	}
	for (size_t i = 0; i < sizeof(r); i++) {
		id[2 * i] = hex[r[i] >> 4];
		id[2 * i + 1] = hex[r[i] & 0xf];
	}
	id[WEBHOOK_ID_LEN] = '\0';
}

char *
outbox_event_json(struct webhook_event *ev, size_t *len, char *err,
                  size_t errlen)
{
	char id[WEBHOOK_ID_LEN + 1];
	char *body;

	outbox_new_id(id);
	ev->id = id;
	if (ev->time == 0)
		ev->time = (int64_t)time(NULL);
	body = webhook_event_json(ev, len, err, errlen);
	ev->id = NULL;
	return body;
}

int
outbox_put(struct store_batch *b, const struct config *cfg,
           struct webhook_event *ev, char *err, size_t errlen)
{
	char *body;
	size_t len;
	int rc;

	if (!outbox_enabled(cfg))
		return STORE_OK;
	if ((body = outbox_event_json(ev, &len, err, errlen)) == NULL)
		return STORE_ERROR;
	rc = store_batch_put_event(b, ev->domain, body, len, NULL, err, errlen);
	free(body);
	return rc;
}

char *
outbox_state_json(enum webhook_type type, int previous,
                  const struct domain_state *st, int64_t now, size_t *len,
                  char *err, size_t errlen)
{
	char summary[OUTBOX_SUMMARY_MAX];
	struct webhook_event ev = {
	    .type = type,
	    .domain = st->domain,
	    .previous = previous,
	    .state = st->state,
	    .time = now,
	    .st = st,
	    .summary = summary,
	};

	state_describe(st, now, summary, sizeof(summary));
	return outbox_event_json(&ev, len, err, errlen);
}

int
outbox_state(struct store_batch *b, const struct config *cfg,
             enum webhook_type type, int previous,
             const struct domain_state *st, int64_t now, char *err,
             size_t errlen)
{
	char *body;
	size_t len;
	int rc;

	if (type == WEBHOOK_NONE || !outbox_enabled(cfg))
		return STORE_OK;
	body = outbox_state_json(type, previous, st, now, &len, err, errlen);
	if (body == NULL)
		return STORE_ERROR;
	rc = store_batch_put_event(b, st->domain, body, len, NULL, err, errlen);
	free(body);
	return rc;
}

int
outbox_domain_remove(struct store *st, const struct config *cfg,
                     const char *domain, char *err, size_t errlen)
{
	struct webhook_event ev = {.type = WEBHOOK_REMOVED, .domain = domain};
	struct store_batch *b;
	struct domain_state s;
	int rc;

	if ((rc = store_batch_begin(st, &b, err, errlen)) != STORE_OK)
		return rc;
	if (store_batch_get_state(b, domain, &s, err, errlen) == STORE_OK)
		ev.previous = s.state;
	ev.state = ev.previous;
	rc = store_batch_del_reg(b, domain, err, errlen);
	if (rc == STORE_OK || rc == STORE_NOTFOUND)
		rc = store_batch_del_state(b, domain, err, errlen);
	if (rc == STORE_OK || rc == STORE_NOTFOUND)
		rc = outbox_put(b, cfg, &ev, err, errlen);
	if (rc != STORE_OK) {
		store_batch_abort(b);
		return rc;
	}
	return store_batch_commit(b, err, errlen);
}
