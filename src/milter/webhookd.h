/*
 * webhookd.h - the milter daemon's webhook delivery thread.
 *
 * SYNOPSIS
 *	#include "webhookd.h"
 *
 *	int webhookd_secret_load(const char *path, unsigned char *buf,
 *	    size_t buflen, size_t *len, char *err, size_t errlen);
 *	int webhookd_start(struct webhookd **out, struct store *st,
 *	    const struct config *cfg, char *err, size_t errlen);
 *	int webhookd_start_fleet(struct webhookd **out,
 *	    const struct config *cfg, char *err, size_t errlen);
 *	int webhookd_reload(struct webhookd *wd, const struct config *cfg,
 *	    char *err, size_t errlen);
 *	bool webhookd_stop(struct webhookd *wd, unsigned wait_seconds);
 *	void webhookd_counters(const struct webhookd *wd,
 *	    struct webhookd_counters *out);
 *	int webhookd_metrics_register(struct metrics *m, char *err,
 *	    size_t errlen);
 *
 * DESCRIPTION
 *	One thread of its own (never a milter callback thread) empties the
 *	store's outbox (store.h) with libcurl's multi interface: every event
 *	is POSTed to every WebhookURL, signed (webhook.h), at least once and
 *	in order per domain and URL: a domain's next event goes to a URL only
 *	once the one before was delivered there or given up.  An event
 *	leaves the outbox only when every URL has answered 2xx or was given
 *	up, so a restart (or kill -9) loses nothing; it may deliver an
 *	event again, with the same id.
 *
 *	With StoreDSN a second thread, webhookd_start_fleet(), empties the
 *	fleet's outbox in PostgreSQL (pgoutbox.h): the state changes and
 *	removals, claimed with a lease per domain so one host at a time
 *	delivers a domain's events, claimed as soon as a NOTIFY on
 *	authready_changes says a write committed (else every
 *	WEBHOOKD_FLEET_POLL_MS); a host killed mid-delivery loses its
 *	lease and another sends them again, same ids.  The host's LMDB
 *	outbox still holds its own held and released events.
 *
 *	A reload (webhookd_reload) hands the thread the new URLs, the secret
 *	read again from WebhookSecretFile, WebhookTimeout and WebhookRetryFor;
 *	the thread takes them at its next pass.  A URL kept (the same text)
 *	keeps its progress; a URL added gets every event still in the
 *	outbox, as after a restart; a URL removed is not sent the events it
 *	was still to get (logged, event=webhook-url-removed); with no URL
 *	left delivery pauses and the events stay in the outbox.  The next
 *	attempt is signed with the new secret and bounded by the new
 *	timeout; the fleet's lease follows WebhookTimeout.  StoreDSN and
 *	HostName stay the start's.
 *
 *	The counters are atomics the thread adds to; the same outcomes go
 *	to the metric families webhookd_metrics_register() registers (for
 *	MetricsListen, metricsd.c).
 */
#ifndef AUTHREADY_WEBHOOKD_H
#define AUTHREADY_WEBHOOKD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "configfile.h"
#include "store.h"

#define WEBHOOKD_SECRET_MAX 1024    /* octets of the secret */
#define WEBHOOKD_QUEUE_MAX 256      /* events in memory at once */
#define WEBHOOKD_INFLIGHT_MAX 16    /* requests at once */
#define WEBHOOKD_POLL_MS 250        /* the outbox is read this often */
#define WEBHOOKD_FLEET_POLL_MS 2000 /* the fleet's, between NOTIFYs */
#define WEBHOOKD_NOTIFY_GAP_MS 20   /* a NOTIFY's claim after the last */
#define WEBHOOKD_RESPONSE_MAX 65536 /* octets of an answer read */
#define WEBHOOKD_PAUSED_MS 1000     /* no URL: wait for a reload or a stop */

struct webhookd;
struct metrics;

struct webhookd_counters {
	uint64_t delivered; /* 2xx answers */
	uint64_t failed;    /* attempts to retry (no answer, 5xx...) */
	uint64_t given_up;  /* deliveries given up (4xx, WebhookRetryFor) */
	uint64_t discarded; /* outbox entries that did not decode */
	uint64_t queued;    /* events waiting in memory now */
};

/*
 * webhookd_secret_load - WebhookSecretFile: its first line, at most
 * WEBHOOKD_SECRET_MAX octets; a file others may read (or write) is
 * refused.  0 ok; -1 with err.
 */
int webhookd_secret_load(const char *path, unsigned char *buf, size_t buflen,
                         size_t *len, char *err, size_t errlen);

/* webhookd_start - with WebhookURL, start the thread (*out NULL without
 * one); 0 ok, -1 with err. */
int webhookd_start(struct webhookd **out, struct store *st,
                   const struct config *cfg, char *err, size_t errlen);

/* webhookd_start_fleet - with WebhookURL and StoreDSN, start the thread
 * on the fleet's outbox (*out NULL otherwise); 0 ok, -1 with err. */
int webhookd_start_fleet(struct webhookd **out, const struct config *cfg,
                         char *err, size_t errlen);

/* webhookd_reload - cfg's webhook keys for wd's thread (NULL: none),
 * taken at its next pass; the secret file is read here.  0 ok; -1 with
 * err, wd unchanged. */
int webhookd_reload(struct webhookd *wd, const struct config *cfg, char *err,
                    size_t errlen);

/* webhookd_stop - stop and free, waiting at most wait_seconds for the
 * thread (a request in progress is abandoned: the event stays in the
 * outbox); false when it did not end, nothing freed. */
bool webhookd_stop(struct webhookd *wd, unsigned wait_seconds);

/* webhookd_counters - the counters now (all 0 without a thread). */
void webhookd_counters(const struct webhookd *wd,
                       struct webhookd_counters *out);

/* webhookd_metrics_register - the webhook attempt and discard metrics
 * into m (before the thread starts); 0, or -1 with err. */
int webhookd_metrics_register(struct metrics *m, char *err, size_t errlen);

#endif
