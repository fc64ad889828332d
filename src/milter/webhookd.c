/*
 * webhookd.c - the milter daemon's webhook delivery thread; see
 *	webhookd.h.
 *
 * SYNOPSIS
 *	int webhookd_secret_load(path, buf, buflen, len, err, errlen);
 *	int webhookd_start(out, st, cfg, err, errlen);
 *	int webhookd_start_fleet(out, cfg, err, errlen);
 *	int webhookd_reload(wd, cfg, err, errlen);
 *	bool webhookd_stop(wd, wait_seconds);
 *	void webhookd_counters(wd, out);
 *	int webhookd_metrics_register(m, err, errlen);
 *
 * DESCRIPTION
 *	The thread keeps at most WEBHOOKD_QUEUE_MAX events of the outbox
 *	in memory, in sequence order, read every WEBHOOKD_POLL_MS (the
 *	writers are the checker thread, the milter threads and the CLI in
 *	other processes, so the outbox is polled rather than signalled).
 *	Each event has one lane per URL: done, busy (a request in flight),
 *	the attempts made, when the next may start and when the first did.
 *	A lane may start when its event's predecessor of the same domain
 *	(prev_seq, found when the event was read) is gone or done for that
 *	URL, at most WEBHOOKD_INFLIGHT_MAX requests at once.
 *
 *	Each attempt is signed anew with the time of the attempt.  An
 *	attempt that is to be retried (webhook_outcome_of()) waits
 *	webhook_backoff_ms(); once WebhookRetryFor has passed since the
 *	first attempt the lane is given up.  The events whose lanes are all
 *	done are deleted from the outbox (those of one pass in one
 *	transaction), then forgotten; a failed delete is tried again at the
 *	next pass, so nothing is forgotten that the outbox still holds.
 *
 *	The fleet's thread (webhookd_start_fleet) reads by claiming
 *	(pgoutbox_claim(), which renews the leases of what it holds) and
 *	deletes with pgoutbox_delete(); an event may come in below the
 *	highest seq read (another host's, whose lease ran out): the queue is
 *	kept in seq order and the links per domain mended.  Its connection
 *	LISTENs on the channel every fleet write NOTIFYs in its transaction
 *	(pgoutbox.h), and the thread waits on that socket with libcurl's:
 *	a NOTIFY brings the next claim forward to now (at most one claim per
 *	WEBHOOKD_NOTIFY_GAP_MS), so an event is claimed as its write
 *	commits; otherwise it claims every WEBHOOKD_FLEET_POLL_MS, the
 *	safety net (a lease that ran out sends no NOTIFY) and the lease
 *	renewal.
 *
 *	Only WEBHOOKD_QUEUE_MAX events are read at once: with that many
 *	waiting (a receiver down for long, a domain's first event
 *	retried), later events of other domains wait for room.
 *
 *	Metrics (webhookd_metrics_register): every attempt's outcome and
 *	libcurl's time for it (authready_webhook_attempts_total and
 *	authready_webhook_attempt_duration_seconds, by outcome: delivered,
 *	failed (to be retried), gave_up), and the outbox entries discarded;
 *	the thread adds, metricsd.c renders.
 *
 * DIAGNOSTICS
 *	One log line per delivery (event=webhook-delivered, info), per
 *	attempt to retry (event=webhook-retry, info, with the HTTP status
 *	or libcurl's error and the delay), per give-up (event=webhook-gave-up,
 *	warning) and per outbox entry that does not decode
 *	(event=webhook-discarded, error).  URLs are named by their place in
 *	the config (url=1 is the first WebhookURL): a URL may hold a
 *	password or a token.
 */
#include "ac-config.h"

#include "webhookd.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "errbuf.h"
#include "log.h"
#include "metrics.h"
#include "pgconn.h"
#include "pgoutbox.h"
#include "safefile.h"
#include "text.h"
#include "webhook.h"

/* One URL's delivery of one event. */
struct wh_lane {
	bool done, busy;
	unsigned attempts; /* made so far */
	uint64_t next_ms;  /* CLOCK_MONOTONIC ms: not before */
	int64_t first_try; /* unix seconds of the first attempt; 0 none */
};

struct wh_item {
	uint64_t seq;
	uint64_t prev_seq; /* the same domain's event before; 0 none */
	char domain[DOMAIN_BUF];
	char *body; /* NULL: an entry that did not decode */
	size_t len;
	bool del_failed; /* its delete failed once (logged once) */
	struct wh_lane lane[CONFIG_WEBHOOK_URLS_MAX];
};

/* The keys a reload hands to the thread (webhookd_reload). */
struct wh_keys {
	struct config_webhooks urls;
	unsigned char secret[WEBHOOKD_SECRET_MAX];
	size_t secretlen;
	unsigned timeout_ms;
	int64_t retry_for;
};

/* A request in flight. */
struct wh_req {
	struct webhookd *wd;
	struct wh_item *item;
	size_t url;
	CURL *easy;
	struct curl_slist *headers;
	size_t got; /* octets of the answer read (and dropped) */
};

struct webhookd {
	struct store *st;    /* the LMDB outbox, or */
	struct pgoutbox *pg; /* the fleet's (pgoutbox.h) */
	bool pg_failing;     /* its last claim failed (logged once) */
	struct config_webhooks urls;
	unsigned char secret[WEBHOOKD_SECRET_MAX];
	size_t secretlen;
	unsigned timeout_ms;
	int64_t retry_for;
	CURLM *multi;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t lock;
	pthread_cond_t done;
	bool exited;
	struct wh_keys *pending; /* a reload's keys, under lock; NULL none */
	struct config cfg;       /* the start's (StoreDSN, HostName) */
	struct wh_item *items[WEBHOOKD_QUEUE_MAX];
	size_t nitems;
	uint64_t last_seq; /* the highest sequence read */
	struct wh_req *reqs[WEBHOOKD_INFLIGHT_MAX]; /* in flight */
	size_t inflight;
	uint32_t rnd;
	_Atomic uint64_t delivered, failed, given_up, discarded, queued;
};

/* An attempt's outcome, the label of the attempt metrics. */
enum wh_outcome { WH_DELIVERED, WH_FAILED, WH_GAVE_UP, WH_OUTCOMES };

static const char *const wh_outcome_labels[WH_OUTCOMES] = {
    [WH_DELIVERED] = "delivered",
    [WH_FAILED] = "failed",
    [WH_GAVE_UP] = "gave_up",
};

static struct metrics_family wh_metric_attempts = {
    .name = "authready_webhook_attempts_total",
    .help = "Webhook POSTs by outcome, one per event and URL attempt: "
            "delivered (2xx), failed (to be retried), gave_up (refused "
            "with a 4xx, or failed past WebhookRetryFor).",
    .type = METRICS_COUNTER,
    .nlabels = 1,
    .label = {{"outcome", wh_outcome_labels, WH_OUTCOMES}},
};
static struct metrics_family wh_metric_seconds = {
    .name = "authready_webhook_attempt_duration_seconds",
    .help = "Time of a webhook POST from the connection to the answer (or "
            "the error), by outcome.",
    .type = METRICS_HISTOGRAM,
    .nlabels = 1,
    .label = {{"outcome", wh_outcome_labels, WH_OUTCOMES}},
    .bounds_us = metrics_latency_bounds_us,
};
static struct metrics_family wh_metric_discarded = {
    .name = "authready_webhook_discarded_total",
    .help = "Outbox entries that did not decode, logged and removed "
            "undelivered.",
    .type = METRICS_COUNTER,
};

int
webhookd_secret_load(const char *path, unsigned char *buf, size_t buflen,
                     size_t *len, char *err, size_t errlen)
{
	char why[SAFEFILE_ERR_MAX], *text = NULL;
	struct stat sb;
	size_t n = 0;
	int rc = 0;

	*len = 0;
	if (path == NULL || path[0] == '\0')
		return errbuf_fail(err, errlen, "WebhookSecretFile is not set");
	if (safefile_read(path, WEBHOOKD_SECRET_MAX + 2, 0, &text, &n, &sb, why,
	                  sizeof(why)) != 0)
		return errbuf_fail(err, errlen, "WebhookSecretFile %s", why);
	n = strcspn(text, "\r\n");
	if (sb.st_mode & (S_IRWXO))
		rc = errbuf_fail(err, errlen,
		                 "WebhookSecretFile %s: others may read it "
		                 "(mode %03o); chmod o= it",
		                 path, (unsigned)(sb.st_mode & 0777));
	else if (n == 0)
		rc = errbuf_fail(
		    err, errlen,
		    "WebhookSecretFile %s: the first line is empty", path);
	else if (n > buflen || n > WEBHOOKD_SECRET_MAX)
		rc = errbuf_fail(err, errlen,
		                 "WebhookSecretFile %s: the secret is longer "
		                 "than %d octets",
		                 path, WEBHOOKD_SECRET_MAX);
	else {
		memcpy(buf, text, n);
		*len = n;
	}
	explicit_bzero(text, strlen(text));
	free(text);
	return rc;
}

/* wh_random - the next number of a xorshift32 (jitter only). */
static uint32_t
wh_random(struct webhookd *wd)
{
	uint32_t x = wd->rnd;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return wd->rnd = x;
}

/* wh_find - the item of seq in the queue, or NULL. */
static struct wh_item *
wh_find(struct webhookd *wd, uint64_t seq)
{
	size_t lo = 0, hi = wd->nitems;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (wd->items[mid]->seq == seq)
			return wd->items[mid];
		if (wd->items[mid]->seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* wh_insert - it into the queue in seq order, linked to its domain's
 * event before and its domain's event after linked to it. */
static void
wh_insert(struct webhookd *wd, struct wh_item *it)
{
	size_t at = wd->nitems, i;

	while (at > 0 && wd->items[at - 1]->seq > it->seq)
		at--;
	memmove(&wd->items[at + 1], &wd->items[at],
	        (wd->nitems - at) * sizeof(*wd->items));
	wd->items[at] = it;
	wd->nitems++;
	if (it->body == NULL)
		return;
	for (i = at; i-- > 0;)
		if (strcmp(wd->items[i]->domain, it->domain) == 0) {
			it->prev_seq = wd->items[i]->seq;
			break;
		}
	for (i = at + 1; i < wd->nitems; i++)
		if (strcmp(wd->items[i]->domain, it->domain) == 0) {
			wd->items[i]->prev_seq = it->seq;
			break;
		}
}

/* wh_add - one outbox entry into the queue (store_event_cb).  The
 * fleet's claim hands over what this host holds again each time (and
 * may hand over an older event, one another host held): known ones are
 * skipped, new ones go in seq order. */
static int
wh_add(void *ctx, uint64_t seq, const char *domain, const char *body,
       size_t len)
{
	struct webhookd *wd = ctx;
	struct wh_item *it;

	if (wd->pg != NULL && wh_find(wd, seq) != NULL)
		return 0;
	if ((wd->pg == NULL && seq <= wd->last_seq) ||
	    wd->nitems >= WEBHOOKD_QUEUE_MAX)
		return 1;
	if ((it = calloc(1, sizeof(*it))) == NULL)
		return 1;
	it->seq = seq;
	if (domain != NULL) {
		if ((it->body = malloc(len + 1)) == NULL) {
			free(it);
			return 1;
		}
		memcpy(it->body, body, len);
		it->body[len] = '\0';
		it->len = len;
		text_copy(it->domain, sizeof(it->domain), domain);
	} else {
		log_msg(LOG_ERR,
		        "event=webhook-discarded seq=%" PRIu64
		        " error=\"%.*s\"",
		        seq, (int)(len < 400 ? len : 400), body);
		atomic_fetch_add(&wd->discarded, 1);
		metrics_add(&wh_metric_discarded, 0, 0, 1);
		for (size_t u = 0; u < CONFIG_WEBHOOK_URLS_MAX; u++)
			it->lane[u].done = true;
	}
	for (size_t u = wd->urls.count; u < CONFIG_WEBHOOK_URLS_MAX; u++)
		it->lane[u].done = true;
	wh_insert(wd, it);
	if (seq > wd->last_seq)
		wd->last_seq = seq;
	return 0;
}

/* wh_load - read what the outbox holds past the queue; the fleet's
 * claim also renews the leases of what this host holds, so it runs with
 * a full queue too. */
static void
wh_load(struct webhookd *wd)
{
	char err[512];

	if (wd->pg != NULL) {
		if (pgoutbox_claim(wd->pg, WEBHOOKD_QUEUE_MAX, wh_add, wd, err,
		                   sizeof(err)) == PGCONN_OK)
			wd->pg_failing = false;
		else if (!wd->pg_failing) {
			wd->pg_failing = true;
			log_msg(LOG_ERR,
			        "event=webhook-outbox-error outbox=fleet "
			        "error=\"%s\" (tried again; logged once)",
			        err);
		}
		atomic_store(&wd->queued, (uint64_t)wd->nitems);
		return;
	}
	if (wd->nitems >= WEBHOOKD_QUEUE_MAX)
		return;
	if (store_outbox_list(wd->st, wd->last_seq,
	                      WEBHOOKD_QUEUE_MAX - wd->nitems, wh_add, wd, err,
	                      sizeof(err)) != STORE_OK)
		log_msg(LOG_ERR, "event=webhook-outbox-error error=\"%s\"",
		        err);
}

/* wh_discard - curl's write callback: the answer is counted, dropped. */
static size_t
wh_discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct wh_req *req = arg;
	size_t n = size * nmemb;

	(void)ptr;
	req->got += n;
	return req->got > WEBHOOKD_RESPONSE_MAX ? 0 : n;
}

/* wh_req_free - a finished or abandoned request. */
static void
wh_req_free(struct wh_req *req)
{
	struct webhookd *wd = req->wd;

	curl_multi_remove_handle(wd->multi, req->easy);
	curl_easy_cleanup(req->easy);
	curl_slist_free_all(req->headers);
	req->item->lane[req->url].busy = false;
	for (size_t i = 0; i < wd->inflight; i++)
		if (wd->reqs[i] == req) {
			wd->reqs[i] = wd->reqs[--wd->inflight];
			break;
		}
	free(req);
}

/* wh_headers - the request's headers, signed at time t; NULL when out of
 * memory. */
static struct curl_slist *
wh_headers(struct webhookd *wd, const struct wh_item *it, int64_t t)
{
	char sig[WEBHOOK_SIGNATURE_MAX], line[WEBHOOK_SIGNATURE_MAX + 64];
	struct curl_slist *h = NULL, *n;

	if (webhook_sign(wd->secret, wd->secretlen, t, it->body, it->len, sig,
	                 sizeof(sig)) != 0)
		return NULL;
	snprintf(line, sizeof(line), "%s: %s", WEBHOOK_HEADER, sig);
	if ((n = curl_slist_append(h, line)) == NULL)
		return NULL;
	h = n;
	if ((n = curl_slist_append(h, "Content-Type: application/json")) ==
	        NULL ||
	    (h = n, n = curl_slist_append(h, "Expect:")) == NULL) {
		curl_slist_free_all(h);
		return NULL;
	}
	return n;
}

/* wh_start - the next attempt of item it to URL u; false when it could
 * not be made (tried again at the next pass). */
static bool
wh_start(struct webhookd *wd, struct wh_item *it, size_t u)
{
	struct wh_req *req = calloc(1, sizeof(*req));
	int64_t now = (int64_t)time(NULL);
	CURL *e;

	if (req == NULL)
		return false;
	req->wd = wd;
	req->item = it;
	req->url = u;
	if ((req->headers = wh_headers(wd, it, now)) == NULL ||
	    (req->easy = e = curl_easy_init()) == NULL) {
		curl_slist_free_all(req->headers);
		free(req);
		return false;
	}
	curl_easy_setopt(e, CURLOPT_URL, wd->urls.url[u]);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, it->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)it->len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "authready/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)wd->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)wd->timeout_ms);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, wh_discard);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(e, CURLOPT_PRIVATE, req);
	if (curl_multi_add_handle(wd->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		curl_slist_free_all(req->headers);
		free(req);
		return false;
	}
	if (it->lane[u].first_try == 0)
		it->lane[u].first_try = now;
	it->lane[u].busy = true;
	wd->reqs[wd->inflight++] = req;
	return true;
}

/* wh_ready - may lane u of it start now? */
static bool
wh_ready(struct webhookd *wd, const struct wh_item *it, size_t u, uint64_t now)
{
	const struct wh_item *prev;

	if (it->lane[u].done || it->lane[u].busy || it->lane[u].next_ms > now)
		return false;
	prev = it->prev_seq ? wh_find(wd, it->prev_seq) : NULL;
	return prev == NULL || prev->lane[u].done;
}

/* wh_schedule - start what may start; the ms until a lane is due (at
 * most WEBHOOKD_POLL_MS). */
static long
wh_schedule(struct webhookd *wd, uint64_t now)
{
	uint64_t wait = WEBHOOKD_POLL_MS;

	for (size_t i = 0; i < wd->nitems; i++) {
		struct wh_item *it = wd->items[i];

		for (size_t u = 0; u < wd->urls.count; u++) {
			struct wh_lane *l = &it->lane[u];

			if (!l->done && !l->busy && l->next_ms > now &&
			    l->next_ms - now < wait)
				wait = l->next_ms - now;
			if (wd->inflight < WEBHOOKD_INFLIGHT_MAX &&
			    wh_ready(wd, it, u, now) && !wh_start(wd, it, u))
				wait = 10;
		}
	}
	return (long)wait;
}

/* wh_count - an attempt's outcome and libcurl's time for it, in the
 * metrics. */
static void
wh_count(const struct wh_req *req, enum wh_outcome outcome)
{
	curl_off_t us = 0;

	metrics_add(&wh_metric_attempts, outcome, 0, 1);
	if (metrics_on(&wh_metric_seconds) &&
	    curl_easy_getinfo(req->easy, CURLINFO_TOTAL_TIME_T, &us) ==
	        CURLE_OK &&
	    us >= 0)
		metrics_observe_us(&wh_metric_seconds, outcome, 0,
		                   (uint64_t)us);
}

/* wh_finish - the outcome of a finished request. */
static void
wh_finish(struct wh_req *req, CURLcode res)
{
	struct webhookd *wd = req->wd;
	struct wh_item *it = req->item;
	struct wh_lane *l = &it->lane[req->url];
	long status = 0;
	uint64_t delay;

	curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
	l->attempts++;
	switch (webhook_outcome_of(res == CURLE_OK, status)) {
	case WEBHOOK_DELIVERED:
		l->done = true;
		atomic_fetch_add(&wd->delivered, 1);
		wh_count(req, WH_DELIVERED);
		log_msg(LOG_INFO,
		        "event=webhook-delivered seq=%" PRIu64
		        " domain=%s url=%zu status=%ld attempts=%u",
		        it->seq, it->domain, req->url + 1, status, l->attempts);
		return;
	case WEBHOOK_GIVE_UP:
		l->done = true;
		atomic_fetch_add(&wd->given_up, 1);
		wh_count(req, WH_GAVE_UP);
		log_msg(LOG_WARNING,
		        "event=webhook-gave-up seq=%" PRIu64
		        " domain=%s url=%zu status=%ld attempts=%u (the "
		        "receiver refused it; it is not sent again)",
		        it->seq, it->domain, req->url + 1, status, l->attempts);
		return;
	case WEBHOOK_RETRY:
		break;
	}
	atomic_fetch_add(&wd->failed, 1);
	if ((int64_t)time(NULL) - l->first_try >= wd->retry_for) {
		l->done = true;
		atomic_fetch_add(&wd->given_up, 1);
		wh_count(req, WH_GAVE_UP);
		log_msg(LOG_WARNING,
		        "event=webhook-gave-up seq=%" PRIu64
		        " domain=%s url=%zu status=%ld error=\"%s\" "
		        "attempts=%u (retried for WebhookRetryFor)",
		        it->seq, it->domain, req->url + 1, status,
		        curl_easy_strerror(res), l->attempts);
		return;
	}
	wh_count(req, WH_FAILED);
	delay = webhook_backoff_ms(l->attempts - 1, wh_random(wd));
	l->next_ms = text_now_ms() + delay;
	log_msg(LOG_INFO,
	        "event=webhook-retry seq=%" PRIu64
	        " domain=%s url=%zu status=%ld error=\"%s\" attempts=%u "
	        "delay_ms=%" PRIu64,
	        it->seq, it->domain, req->url + 1, status,
	        res == CURLE_OK ? "none" : curl_easy_strerror(res), l->attempts,
	        delay);
}

/* wh_reap - the requests libcurl has finished. */
static void
wh_reap(struct webhookd *wd)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(wd->multi, &left)) != NULL) {
		struct wh_req *req = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &req);
		if (req == NULL)
			continue;
		wh_finish(req, msg->data.result);
		wh_req_free(req);
	}
}

/* wh_all_done - every lane of it is done. */
static bool
wh_all_done(const struct wh_item *it)
{
	for (size_t u = 0; u < CONFIG_WEBHOOK_URLS_MAX; u++)
		if (!it->lane[u].done)
			return false;
	return true;
}

/* wh_sweep - delete the events every URL is done with (one transaction
 * for all of them), then forget them. */
static void
wh_sweep(struct webhookd *wd)
{
	uint64_t seqs[WEBHOOKD_QUEUE_MAX];
	char err[512];
	size_t i, n = 0, kept = 0, gone;
	bool deleted;

	for (i = 0; i < wd->nitems; i++)
		if (wh_all_done(wd->items[i]))
			seqs[n++] = wd->items[i]->seq;
	if (n == 0)
		return;
	if (wd->pg != NULL)
		deleted = pgoutbox_delete(wd->pg, seqs, n, &gone, err,
		                          sizeof(err)) == PGCONN_OK;
	else
		deleted = store_outbox_del_many(wd->st, seqs, n, &gone, err,
		                                sizeof(err)) == STORE_OK;
	for (i = 0; i < wd->nitems; i++) {
		struct wh_item *it = wd->items[i];

		if (wh_all_done(it) && deleted) {
			free(it->body);
			free(it);
			continue;
		}
		if (wh_all_done(it) && !it->del_failed) {
			log_msg(LOG_ERR,
			        "event=webhook-outbox-error seq=%" PRIu64
			        " error=\"%s\" (delivered; deleted later)",
			        it->seq, err);
			it->del_failed = true;
		}
		wd->items[kept++] = it;
	}
	wd->nitems = kept;
	atomic_store(&wd->queued, (uint64_t)kept);
}

/* wh_abandon - at the end: requests in flight are dropped (their events
 * stay in the outbox), the queue freed. */
static void
wh_abandon(struct webhookd *wd)
{
	while (wd->inflight > 0)
		wh_req_free(wd->reqs[wd->inflight - 1]);
	for (size_t i = 0; i < wd->nitems; i++) {
		free(wd->items[i]->body);
		free(wd->items[i]);
	}
	wd->nitems = 0;
}

/* wh_take_reload - a reload's keys, when one came: a URL kept keeps its
 * lanes (moved to its new place), a URL added gets a lane in every event
 * held, as after a restart, a URL removed is dropped with the events it
 * was still to get (logged: they are not sent to it); with no URL left
 * the queue is let go and the events stay in the outbox until a reload
 * brings a URL again.  The secret, WebhookTimeout and WebhookRetryFor
 * apply from the next attempt. */
static void
wh_take_reload(struct webhookd *wd)
{
	size_t map[CONFIG_WEBHOOK_URLS_MAX], dropped[CONFIG_WEBHOOK_URLS_MAX];
	size_t u, j, i, kept = 0;
	struct wh_keys *k;

	pthread_mutex_lock(&wd->lock);
	k = wd->pending;
	wd->pending = NULL;
	pthread_mutex_unlock(&wd->lock);
	if (k == NULL)
		return;
	for (u = 0; u < wd->urls.count; u++) {
		map[u] = SIZE_MAX;
		dropped[u] = 0;
		for (j = 0; j < k->urls.count; j++)
			if (strcmp(wd->urls.url[u], k->urls.url[j]) == 0) {
				map[u] = j;
				kept++;
				break;
			}
	}
	for (i = wd->inflight; i-- > 0;) {
		struct wh_req *req = wd->reqs[i];

		if (map[req->url] == SIZE_MAX)
			wh_req_free(req); /* a removed URL's: abandoned */
		else
			req->url = map[req->url];
	}
	for (i = 0; i < wd->nitems; i++) {
		struct wh_item *it = wd->items[i];
		struct wh_lane old[CONFIG_WEBHOOK_URLS_MAX];

		memcpy(old, it->lane, sizeof(old));
		memset(it->lane, 0, sizeof(it->lane));
		for (j = 0; j < CONFIG_WEBHOOK_URLS_MAX; j++)
			it->lane[j].done =
			    j >= k->urls.count || it->body == NULL;
		for (u = 0; u < wd->urls.count; u++) {
			if (map[u] != SIZE_MAX)
				it->lane[map[u]] = old[u];
			else if (!old[u].done)
				dropped[u]++;
		}
	}
	for (u = 0; u < wd->urls.count; u++)
		if (map[u] == SIZE_MAX)
			log_msg(LOG_WARNING,
			        "event=webhook-url-removed url=%zu events=%zu "
			        "(no longer a WebhookURL: %s)",
			        u + 1, dropped[u],
			        k->urls.count > 0
			            ? "the events it was still to get are not "
			              "sent to it"
			            : "the events stay in the outbox for the "
			              "URLs of a later reload or start");
	log_msg(LOG_NOTICE,
	        "event=webhook-reload outbox=%s urls=%zu kept=%zu "
	        "added=%zu removed=%zu timeout_ms=%u retry_for=%lld%s",
	        wd->pg != NULL ? "fleet" : "local", k->urls.count, kept,
	        k->urls.count - kept, wd->urls.count - kept, k->timeout_ms,
	        (long long)k->retry_for,
	        k->urls.count == 0 ? " (no WebhookURL: delivery paused, the "
	                             "events stay in the outbox)"
	                           : "");
	wd->urls = k->urls;
	memcpy(wd->secret, k->secret, sizeof(wd->secret));
	wd->secretlen = k->secretlen;
	wd->timeout_ms = k->timeout_ms;
	wd->retry_for = k->retry_for;
	if (wd->pg != NULL)
		wd->pg->lease_ms = pgoutbox_lease_ms(k->timeout_ms);
	explicit_bzero(k, sizeof(*k));
	free(k);
	if (wd->urls.count == 0) {
		wh_abandon(wd);
		wd->last_seq = 0; /* read again from the first, later */
		atomic_store(&wd->queued, 0);
		if (wd->pg != NULL) /* no NOTIFY piles up unread meanwhile */
			pgoutbox_close(wd->pg);
	}
}

/* wh_poll_ms - how often the outbox is read when nothing wakes us. */
static uint64_t
wh_poll_ms(const struct webhookd *wd)
{
	return wd->pg != NULL ? WEBHOOKD_FLEET_POLL_MS : WEBHOOKD_POLL_MS;
}

/* wh_wait - wait at most ms for libcurl's sockets, a wake-up (a reload,
 * a stop) or, on the fleet's outbox, a NOTIFY: then the next claim is
 * brought forward to now (at most one per WEBHOOKD_NOTIFY_GAP_MS after
 * the last).  A lost connection counts as a NOTIFY: the claim opens a
 * new one, and a NOTIFY sent meanwhile is covered by that claim. */
static void
wh_wait(struct webhookd *wd, long ms, uint64_t last_load, uint64_t *next_load)
{
	struct curl_waitfd pg = {
	    .fd = wd->pg != NULL ? pgoutbox_fd(wd->pg) : -1,
	    .events = CURL_WAIT_POLLIN,
	};
	bool listening = pg.fd >= 0;
	uint64_t soon = last_load + WEBHOOKD_NOTIFY_GAP_MS;

	curl_multi_poll(wd->multi, listening ? &pg : NULL, listening ? 1 : 0,
	                (int)ms, NULL);
	if (listening && (pg.revents & CURL_WAIT_POLLIN) != 0 &&
	    pgoutbox_notified(wd->pg) && soon < *next_load)
		*next_load = soon;
}

static void *
wh_main(void *arg)
{
	struct webhookd *wd = arg;
	uint64_t next_load = 0, last_load = 0;
	int running;

	while (!atomic_load(&wd->stop)) {
		uint64_t now = text_now_ms();
		long wait;

		wh_take_reload(wd);
		if (wd->urls.count == 0) { /* paused until a reload */
			curl_multi_poll(wd->multi, NULL, 0, WEBHOOKD_PAUSED_MS,
			                NULL);
			next_load = 0;
			continue;
		}
		if (now >= next_load) {
			wh_load(wd);
			last_load = now;
			next_load = now + wh_poll_ms(wd);
			/* a NOTIFY read during the claim: its commit may have
			 * come after the claim's snapshot */
			if (wd->pg != NULL && pgoutbox_notified(wd->pg))
				next_load = now + WEBHOOKD_NOTIFY_GAP_MS;
		}
		wh_reap(wd);
		wh_sweep(wd);
		wait = wh_schedule(wd, now);
		curl_multi_perform(wd->multi, &running);
		wh_reap(wd);
		if (next_load > now && (long)(next_load - now) < wait)
			wait = (long)(next_load - now);
		wh_wait(wd, wait, last_load, &next_load);
		curl_multi_perform(wd->multi, &running);
	}
	wh_abandon(wd);
	pthread_mutex_lock(&wd->lock);
	wd->exited = true;
	pthread_cond_broadcast(&wd->done);
	pthread_mutex_unlock(&wd->lock);
	return NULL;
}

/* wh_free - everything of wd but the thread. */
static void
wh_free(struct webhookd *wd)
{
	if (wd->multi != NULL)
		curl_multi_cleanup(wd->multi);
	if (wd->pg != NULL) {
		pgoutbox_close(wd->pg);
		free(wd->pg);
	}
	explicit_bzero(wd->secret, sizeof(wd->secret));
	if (wd->pending != NULL) {
		explicit_bzero(wd->pending, sizeof(*wd->pending));
		free(wd->pending);
	}
	pthread_cond_destroy(&wd->done);
	pthread_mutex_destroy(&wd->lock);
	free(wd);
}

/* wh_start_thread - the thread on st's outbox (or, st NULL, the
 * fleet's). */
static int
wh_start_thread(struct webhookd **out, struct store *st,
                const struct config *cfg, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	struct webhookd *wd;
	int rc;

	*out = NULL;
	if (cfg->webhooks.count == 0)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return errbuf_fail(err, errlen, "libcurl: cannot initialize");
	if ((wd = calloc(1, sizeof(*wd))) == NULL)
		return errbuf_fail(err, errlen, "out of memory");
	pthread_mutex_init(&wd->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wd->done, &ca);
	pthread_condattr_destroy(&ca);
	wd->st = st;
	wd->cfg = *cfg;
	if (st == NULL && ((wd->pg = calloc(1, sizeof(*wd->pg))) == NULL ||
	                   pgoutbox_open(wd->pg, &wd->cfg, err, errlen) != 0)) {
		if (wd->pg == NULL)
			errbuf_fail(err, errlen, "out of memory");
		free(wd->pg);
		wd->pg = NULL;
		wh_free(wd);
		curl_global_cleanup();
		return -1;
	}
	wd->urls = cfg->webhooks;
	wd->timeout_ms = cfg->webhook_timeout_ms;
	wd->retry_for = cfg->webhook_retry_for;
	if (getrandom(&wd->rnd, sizeof(wd->rnd), 0) != sizeof(wd->rnd) ||
	    wd->rnd == 0)
		wd->rnd = (uint32_t)text_now_ms() | 1u;
	if (webhookd_secret_load(cfg->webhook_secret_file, wd->secret,
	                         sizeof(wd->secret), &wd->secretlen, err,
	                         errlen) != 0) {
		wh_free(wd);
		return -1;
	}
	if ((wd->multi = curl_multi_init()) == NULL) {
		wh_free(wd);
		return errbuf_fail(err, errlen, "libcurl: no multi handle");
	}
	if ((rc = pthread_create(&wd->thread, NULL, wh_main, wd)) != 0) {
		wh_free(wd);
		return errbuf_fail(err, errlen, "webhook thread: %s",
		                   strerror(rc));
	}
	(void)pthread_setname_np(wd->thread, "ar-webhooks");
	*out = wd;
	return 0;
}

int
webhookd_start(struct webhookd **out, struct store *st,
               const struct config *cfg, char *err, size_t errlen)
{
	return wh_start_thread(out, st, cfg, err, errlen);
}

int
webhookd_start_fleet(struct webhookd **out, const struct config *cfg, char *err,
                     size_t errlen)
{
	*out = NULL;
	if (cfg->store_dsn[0] == '\0')
		return 0;
	return wh_start_thread(out, NULL, cfg, err, errlen);
}

int
webhookd_reload(struct webhookd *wd, const struct config *cfg, char *err,
                size_t errlen)
{
	struct wh_keys *k, *old;

	if (wd == NULL)
		return 0;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return errbuf_fail(err, errlen, "out of memory");
	k->urls = cfg->webhooks;
	k->timeout_ms = cfg->webhook_timeout_ms;
	k->retry_for = cfg->webhook_retry_for;
	if (k->urls.count > 0 &&
	    webhookd_secret_load(cfg->webhook_secret_file, k->secret,
	                         sizeof(k->secret), &k->secretlen, err,
	                         errlen) != 0) {
		free(k);
		return -1;
	}
	pthread_mutex_lock(&wd->lock);
	old = wd->pending;
	wd->pending = k;
	pthread_mutex_unlock(&wd->lock);
	if (old != NULL) {
		explicit_bzero(old, sizeof(*old));
		free(old);
	}
	curl_multi_wakeup(wd->multi);
	return 0;
}

bool
webhookd_stop(struct webhookd *wd, unsigned wait_seconds)
{
	struct timespec deadline;
	bool exited;

	if (wd == NULL)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)wait_seconds;
	atomic_store(&wd->stop, true);
	curl_multi_wakeup(wd->multi);
	pthread_mutex_lock(&wd->lock);
	while (!wd->exited)
		if (pthread_cond_timedwait(&wd->done, &wd->lock, &deadline) ==
		    ETIMEDOUT)
			break;
	exited = wd->exited;
	pthread_mutex_unlock(&wd->lock);
	if (!exited)
		return false;
	pthread_join(wd->thread, NULL);
	wh_free(wd);
	curl_global_cleanup();
	return true;
}

void
webhookd_counters(const struct webhookd *wd, struct webhookd_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (wd == NULL)
		return;
	out->delivered = atomic_load(&wd->delivered);
	out->failed = atomic_load(&wd->failed);
	out->given_up = atomic_load(&wd->given_up);
	out->discarded = atomic_load(&wd->discarded);
	out->queued = atomic_load(&wd->queued);
}

int
webhookd_metrics_register(struct metrics *m, char *err, size_t errlen)
{
	wh_metric_seconds.nbounds = metrics_latency_nbounds;
	if (metrics_register(m, &wh_metric_attempts, err, errlen) != 0 ||
	    metrics_register(m, &wh_metric_seconds, err, errlen) != 0 ||
	    metrics_register(m, &wh_metric_discarded, err, errlen) != 0)
		return -1;
	return 0;
}
