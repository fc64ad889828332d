/*
 * release.h - release held mail of a domain from the MTA's hold queue.
 *
 * SYNOPSIS
 *	#include "release.h"
 *
 *	The functions: see release.c.
 *
 * DESCRIPTION
 *	Quarantined messages sit in Postfix's hold queue (or Sendmail's
 *	quarantine), their queue IDs indexed under the domain in the store
 *	(with the door they came through, the envelope sender and the
 *	time).  release_domain() checks
 *	each entry against the MTA's own view of its queue (HoldQueueCommand,
 *	default "/usr/sbin/postqueue -j"), then hands the confirmed IDs to the
 *	release command (default "/usr/sbin/postsuper -H -", which reads the
 *	IDs from stdin) through subprocess_run(): fixed argv, no shell.
 *
 *	Every ID is validated first, in the format of the MTA (MTA in
 *	authready.conf): for Postfix letters and digits only, and never
 *	"ALL", which postsuper would take as every message in the queue; for
 *	Sendmail its own format (release_queue_id_ok()), and the release
 *	command is contrib/authready-sendmail-release, which reads the same
 *	stdin and runs "sendmail -qQ -Q -qIID...", and the listing is
 *	contrib/authready-sendmail-queue, which prints Sendmail's queue as
 *	postqueue -j does (the quarantine as "hold").  An entry is
 *	released only when the queue listing shows its ID in the hold queue,
 *	with the indexed envelope sender (an entry without one: a sender in
 *	the domain being released), having arrived at most
 *	RELEASE_ARRIVAL_BEFORE seconds before it was indexed and not later
 *	than RELEASE_ARRIVAL_AFTER seconds after.  Other entries are refused:
 *	dropped from the index, never released; but when the listing had a
 *	line that could not be read, an entry it does not show is kept for
 *	the next release instead.  Held entries that fail to decode are
 *	skipped (reported in the result); the others are still released.
 *	With HoldQueueCommand none, entries that came through a TCP socket
 *	are not released at all (they stay indexed); the others are released
 *	unchecked.  IDs the command accepted are removed from the index; when
 *	it fails nothing is removed, so nothing is lost.
 */
#ifndef AUTHREADY_RELEASE_H
#define AUTHREADY_RELEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "configfile.h"
#include "revpath.h"
#include "store.h"

#define RELEASE_TIMEOUT_MS 60000
#define RELEASE_BATCH_MAX 1000 /* IDs per run of the command */
/* A message arrives (Postfix's arrival_time, at MAIL FROM) before the
 * milter indexes it at end of message; a session longer than an hour is
 * not one authready held. */
#define RELEASE_ARRIVAL_BEFORE 3600          /* seconds */
#define RELEASE_ARRIVAL_AFTER 60             /* seconds: clock steps */
#define RELEASE_QUEUE_LINE_MAX (1024 * 1024) /* one message in the listing */
#define RELEASE_QUEUE_NAME_MAX 16
#define RELEASE_WHY_MAX 512

/* One message of the queue listing (a line of postqueue -j). */
struct release_queued {
	char queue_name[RELEASE_QUEUE_NAME_MAX]; /* "hold", "deferred"... */
	char queue_id[HELD_QUEUE_ID_MAX];
	/* as the MTA stores it, "" null: whole, as long as the milter
	 * accepts; release_judge() cuts it as the milter cut the index */
	char sender[REVPATH_INPUT_MAX + 1];
	int64_t arrival_time;
};

/* What release_domain() did. */
struct release_result {
	size_t released;   /* handed to the command, which exited 0 */
	size_t invalid;    /* not a queue ID: dropped from the index */
	size_t refused;    /* not confirmed by the queue: dropped, held */
	size_t unverified; /* came over TCP, no HoldQueueCommand: kept */
	size_t kept;       /* not in a listing that had unreadable lines:
	                      kept, retried at the next release */
	/* the store's message about held entries that failed to decode
	 * (left in the index), "" none */
	char corrupt[RELEASE_WHY_MAX];
	char first_refused[RELEASE_WHY_MAX]; /* "ID: why", "" none */
};

/*
 * release_queue_id_ok - a queue ID of the MTA.  Postfix: letters and
 * digits, 1..63, not "ALL".  Sendmail: eight characters of its base 60
 * alphabet (year, month, day, hour, minute, second, two of a counter),
 * then the process ID in six to ten digits ("6B5Gfr0x014687").  Pure.
 */
bool release_queue_id_ok(const char *id, enum config_mta mta);

/*
 * release_parse_queued - one line of postqueue -j (a JSON object) into
 * q: queue_name, queue_id, sender and arrival_time, other members
 * skipped.  0 ok; -1 when the line is not such an object or a field does
 * not fit (q is then all zero).  Pure; never reads past len.
 */
int release_parse_queued(const char *buf, size_t len, struct release_queued *q);

/*
 * release_judge - may the held entry msg, indexed under domain, be
 * released as the queue listing's q (the same queue ID)?  true, or
 * false with the reason in why.  Pure.
 */
bool release_judge(const struct held_msg *msg, const char *domain,
                   const struct release_queued *q, char *why, size_t whylen);

/*
 * release_domain - release every held message of domain that the queue
 * listing confirms, its IDs checked as queue IDs of mta.  queue_command
 * "" means none.  0 ok (also when
 * nothing was held or everything was refused); -1 with err when a
 * command failed or the store could not be read.
 */
int release_domain(struct store *st, const char *domain, const char *command,
                   const char *queue_command, enum config_mta mta,
                   struct release_result *res, char *err, size_t errlen);

/*
 * release_domain_cfg - release_domain() with the commands and the MTA of
 * cfg; with WebhookURL the entries it released leave the index in one
 * transaction with a "released" webhook event (outbox.h).
 */
int release_domain_cfg(struct store *st, const char *domain,
                       const struct config *cfg, struct release_result *res,
                       char *err, size_t errlen);

#endif
