/*
 * outbox.h - put webhook events into the store's outbox.
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
 *	The writers of a change (the checker's batch, "domain remove",
 *	the milter's quarantine, a release) call these inside the batch
 *	that makes the change, so the event and the change are committed
 *	together or not at all.  With no WebhookURL nothing is written: an
 *	outbox nobody empties would only grow.  outbox_put() gives the event
 *	a random id (getrandom(2): 128 bits, 32 hex digits) and, when
 *	ev->time is 0, the time now.  outbox_state() is the event of a
 *	state: its problems and its summary (state_describe()).
 *	outbox_event_json() and outbox_state_json() are the same events as
 *	a body (malloc'd, the caller frees it), for an outbox elsewhere
 *	(the fleet's, pgoutbox.h); they write nothing.
 *	outbox_domain_remove() is a removal from the local store: the
 *	registry entry and the state go in one transaction with the
 *	"removed" event ("authready domain remove"; the HTTP API's DELETE).
 *
 * DIAGNOSTICS
 *	0 ok (or nothing to do); a STORE_ status with err from the store,
 *	STORE_ERROR when the event cannot be built.
 */
#ifndef AUTHREADY_OUTBOX_H
#define AUTHREADY_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "configfile.h"
#include "store.h"
#include "webhook.h"

bool outbox_enabled(const struct config *cfg);
int outbox_put(struct store_batch *b, const struct config *cfg,
               struct webhook_event *ev, char *err, size_t errlen);
int outbox_state(struct store_batch *b, const struct config *cfg,
                 enum webhook_type type, int previous,
                 const struct domain_state *st, int64_t now, char *err,
                 size_t errlen);
/* outbox_event_json - ev's body with a new id (and the time now when
 * ev->time is 0); NULL with err. */
char *outbox_event_json(struct webhook_event *ev, size_t *len, char *err,
                        size_t errlen);
/* outbox_state_json - the body of st's event of type; NULL with err. */
char *outbox_state_json(enum webhook_type type, int previous,
                        const struct domain_state *st, int64_t now, size_t *len,
                        char *err, size_t errlen);
void outbox_new_id(char id[WEBHOOK_ID_LEN + 1]);
/* outbox_domain_remove - STORE_OK also when there was nothing to
 * remove (the event is written all the same). */
int outbox_domain_remove(struct store *st, const struct config *cfg,
                         const char *domain, char *err, size_t errlen);

#endif
