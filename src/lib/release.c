/*
 * release.c - release held mail of a domain; see release.h.
 *
 * SYNOPSIS
 *	bool release_queue_id_ok(id, mta);
 *	int release_parse_queued(buf, len, q);
 *	bool release_judge(msg, domain, q, why, whylen);
 *	int release_domain(st, domain, command, queue_command, mta, res,
 *	    err, errlen);
 *	int release_domain_cfg(st, domain, cfg, res, err, errlen);
 *
 * DESCRIPTION
 *	IDs are collected in batches of RELEASE_BATCH_MAX (in queue-ID
 *	order, a cursor past the last one seen), checked against one run of
 *	the queue command per batch, written one per line to the release
 *	command's stdin, and deleted from the index only after it exited 0.
 *	An invalid ID is never passed on; it is dropped from the index (it
 *	cannot name a message) and counted.
 *
 * WHY A QUEUE ID FROM THE MILTER IS NOT ENOUGH
 *	The milter protocol does not authenticate the MTA: whoever can
 *	connect to the milter socket can send a session whose {i} macro
 *	names any queue ID, for example one that another filter or the
 *	postmaster put on hold, and have it indexed under a domain that
 *	authready quarantines.  Releasing that index would release the
 *	other message.  Three defences were weighed:
 *
 *	(a) Mark the held message itself: add a header with an HMAC over
 *	    queue ID and domain at quarantine and release only messages
 *	    that carry it.  A forger cannot make such a message, but
 *	    reading a queued message needs root ("postcat -q ID"), and a
 *	    sudoers rule can fix a command line, not an ID argument: the
 *	    daemon user would be allowed to read every queued message,
 *	    far more than moving messages out of hold.  Not chosen.
 *	(b) Ask the MTA at release time: "postqueue -j" is unprivileged
 *	    and shows queue name, ID, envelope sender and arrival time.
 *	    This catches stale and reused short queue IDs and a forger who
 *	    guesses, but "mailq" shows every local user the same IDs and
 *	    senders, so alone it does not stop a forger who reads them.
 *	(c) Trust only a door the MTA alone can open: a unix socket that
 *	    others cannot write (UMask 007, SocketGroup the MTA's group).
 *	    With a TCP socket, which every local user can reach, a policy
 *	    that can quarantine is a configuration error (exit 78 at start
 *	    and in -n, a refused reload) unless UnsafeInetQuarantine says
 *	    the operator accepts the risk; each entry records its door.
 *
 *	authready does (c), which stops the attack, and (b) on every entry
 *	as a second line: an entry whose ID is not in the hold queue, whose
 *	sender differs, or whose message arrived long before or after the
 *	quarantine is refused.  Entries that came over TCP are never
 *	released without (b).  See authready.conf(5), "THE MILTER'S DOOR".
 */
#include "release.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbox.h"
#include "revpath.h"
#include "sanitize.h"
#include "subprocess.h"
#include "text.h"

/* Sendmail's base 60 digits (queue.c): 0-9, A-Z, a-x. */
static int
release_base60(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'x')
		return c - 'a' + 36;
	return -1;
}

/* The largest value of each of the eight leading characters of a
 * Sendmail queue ID: year % 60, month 0-11, day 1-31, hour, minute,
 * second, the two characters of a counter. */
static const int release_sendmail_max[8] = {59, 11, 31, 23, 59, 59, 59, 59};
#define RELEASE_SENDMAIL_PID_MIN 6
#define RELEASE_SENDMAIL_PID_MAX 10

/* release_sendmail_id_ok - a Sendmail queue ID (release.h). */
static bool
release_sendmail_id_ok(const char *id, size_t len)
{
	size_t i;

	if (len < 8 + RELEASE_SENDMAIL_PID_MIN ||
	    len > 8 + RELEASE_SENDMAIL_PID_MAX)
		return false;
	for (i = 0; i < 8; i++) {
		int v = release_base60(id[i]);

		if (v < 0 || v > release_sendmail_max[i] || (i == 2 && v == 0))
			return false;
	}
	for (; i < len; i++)
		if (id[i] < '0' || id[i] > '9')
			return false;
	return true;
}

bool
release_queue_id_ok(const char *id, enum config_mta mta)
{
	size_t i, len = strlen(id);

	if (mta == CONFIG_MTA_SENDMAIL)
		return release_sendmail_id_ok(id, len);
	if (len == 0 || len >= HELD_QUEUE_ID_MAX || strcmp(id, "ALL") == 0)
		return false;
	for (i = 0; i < len; i++) {
		char c = id[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

/* Reading postqueue -j ------------------------------------------------- */

#define RELEASE_JSON_DEPTH_MAX 16 /* nesting of skipped values */

/* A cursor over one line of the listing. */
struct release_json {
	const char *p;
	size_t len, off;
};

/* json_ws - skip white space. */
static void
json_ws(struct release_json *j)
{
	while (j->off < j->len &&
	       (j->p[j->off] == ' ' || j->p[j->off] == '\t' ||
	        j->p[j->off] == '\r' || j->p[j->off] == '\n'))
		j->off++;
}

/* json_eat - the next octet is c: consume it. */
static bool
json_eat(struct release_json *j, char c)
{
	json_ws(j);
	if (j->off < j->len && j->p[j->off] == c) {
		j->off++;
		return true;
	}
	return false;
}

/* json_hex4 - four hex digits at the cursor; -1 when not. */
static long
json_hex4(struct release_json *j)
{
	long v = 0;

	if (j->len - j->off < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = j->p[j->off++];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* json_put - append one octet to out (NULL: skipping); false if full. */
static bool
json_put(char *out, size_t outlen, size_t *n, unsigned char c)
{
	if (out == NULL)
		return true;
	if (*n + 1 >= outlen)
		return false;
	out[(*n)++] = (char)c;
	return true;
}

/* json_string - a string at the cursor into out (NULL: skip it); \u
 * escapes become UTF-8, a NUL or a lone surrogate fails.  false when
 * not a string or it does not fit. */
static bool
json_string(struct release_json *j, char *out, size_t outlen)
{
	size_t n = 0;

	if (!json_eat(j, '"'))
		return false;
	while (j->off < j->len) {
		unsigned char c = (unsigned char)j->p[j->off++];
		long u;

		if (c == '"') {
			if (out != NULL)
				out[n] = '\0';
			return true;
		}
		if (c < 0x20)
			return false;
		if (c != '\\') {
			if (!json_put(out, outlen, &n, c))
				return false;
			continue;
		}
		if (j->off == j->len)
			return false;
		c = (unsigned char)j->p[j->off++];
		switch (c) {
		case '"':
		case '\\':
		case '/':
			break;
		case 'b':
			c = '\b';
			break;
		case 'f':
			c = '\f';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 't':
			c = '\t';
			break;
		case 'u':
			/* Postfix escapes control octets only: BMP is enough
			 * for the fields we read; a skipped value (a
			 * recipient) may hold anything. */
			if ((u = json_hex4(j)) < 0)
				return false;
			if (out == NULL)
				continue;
			if (u == 0 || (u >= 0xd800 && u <= 0xdfff))
				return false;
			if (u >= 0x800) {
				if (!json_put(
				        out, outlen, &n,
				        (unsigned char)(0xe0 | (u >> 12))) ||
				    !json_put(out, outlen, &n,
				              (unsigned char)(0x80 | ((u >> 6) &
				                                      0x3f))))
					return false;
				c = (unsigned char)(0x80 | (u & 0x3f));
			} else if (u >= 0x80) {
				if (!json_put(out, outlen, &n,
				              (unsigned char)(0xc0 | (u >> 6))))
					return false;
				c = (unsigned char)(0x80 | (u & 0x3f));
			} else {
				c = (unsigned char)u;
			}
			break;
		default:
			return false;
		}
		if (!json_put(out, outlen, &n, c))
			return false;
	}
	return false;
}

/* json_int - an integer (a fraction or exponent fails); false if not. */
static bool
json_int(struct release_json *j, int64_t *v)
{
	bool neg = false, any = false;
	int64_t n = 0;

	json_ws(j);
	if (j->off < j->len && j->p[j->off] == '-') {
		neg = true;
		j->off++;
	}
	while (j->off < j->len && j->p[j->off] >= '0' && j->p[j->off] <= '9') {
		if (n > (INT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (j->p[j->off++] - '0');
		any = true;
	}
	*v = neg ? -n : n;
	return any;
}

/* json_skip - any value: string, number, literal, array or object. */
static bool
json_skip(struct release_json *j, int depth)
{
	static const char *const words[] = {"true", "false", "null"};
	int64_t ignored;
	char c;

	json_ws(j);
	if (j->off >= j->len || depth > RELEASE_JSON_DEPTH_MAX)
		return false;
	c = j->p[j->off];
	if (c == '"')
		return json_string(j, NULL, 0);
	if (c == '[' || c == '{') {
		char close = c == '[' ? ']' : '}';

		j->off++;
		if (json_eat(j, close))
			return true;
		do {
			if (c == '{' &&
			    (!json_string(j, NULL, 0) || !json_eat(j, ':')))
				return false;
			if (!json_skip(j, depth + 1))
				return false;
		} while (json_eat(j, ','));
		return json_eat(j, close);
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++) {
		size_t n = strlen(words[i]);

		if (j->len - j->off >= n &&
		    memcmp(j->p + j->off, words[i], n) == 0) {
			j->off += n;
			return true;
		}
	}
	if (!json_int(j, &ignored))
		return false;
	/* a fraction or an exponent: digits, dots, signs, e */
	while (j->off < j->len && strchr("0123456789.eE+-", j->p[j->off]) &&
	       j->p[j->off] != '\0')
		j->off++;
	return true;
}

/* release_parse_object - release_parse_queued without the clean-up. */
static int
release_parse_object(const char *buf, size_t len, struct release_queued *q)
{
	struct release_json j = {buf, len, 0};
	unsigned have = 0;
	char key[32];

	if (!json_eat(&j, '{'))
		return -1;
	if (!json_eat(&j, '}')) {
		do {
			size_t key_at = j.off;
			bool ok;

			if (!json_string(&j, key, sizeof(key))) {
				/* a long key is none of ours: skip it, from
				 * its start */
				j.off = key_at;
				if (!json_string(&j, NULL, 0))
					return -1;
				key[0] = '\0';
			}
			if (!json_eat(&j, ':'))
				return -1;
			if (strcmp(key, "queue_name") == 0) {
				ok = json_string(&j, q->queue_name,
				                 sizeof(q->queue_name));
				have |= 1;
			} else if (strcmp(key, "queue_id") == 0) {
				ok = json_string(&j, q->queue_id,
				                 sizeof(q->queue_id));
				have |= 2;
			} else if (strcmp(key, "sender") == 0) {
				ok = json_string(&j, q->sender,
				                 sizeof(q->sender));
				have |= 4;
			} else if (strcmp(key, "arrival_time") == 0) {
				ok = json_int(&j, &q->arrival_time);
				have |= 8;
			} else {
				ok = json_skip(&j, 0);
			}
			if (!ok)
				return -1;
		} while (json_eat(&j, ','));
		if (!json_eat(&j, '}'))
			return -1;
	}
	json_ws(&j);
	return j.off == j.len && have == 15 ? 0 : -1;
}

int
release_parse_queued(const char *buf, size_t len, struct release_queued *q)
{
	memset(q, 0, sizeof(*q));
	if (release_parse_object(buf, len, q) != 0) {
		memset(q, 0, sizeof(*q)); /* nothing half-read is left */
		return -1;
	}
	return 0;
}

/* Judging an entry -------------------------------------------------------- */

/* release_in_domain - d is domain or below it, by whole labels. */
static bool
release_in_domain(const char *d, const char *domain)
{
	size_t dl = strlen(d), n = strlen(domain);

	if (dl == n)
		return strcmp(d, domain) == 0;
	return dl > n && d[dl - n - 1] == '.' &&
	       strcmp(d + dl - n, domain) == 0;
}

bool
release_judge(const struct held_msg *msg, const char *domain,
              const struct release_queued *q, char *why, size_t whylen)
{
	char mailbox[HELD_SENDER_MAX], err[REVPATH_ERR_MAX];
	struct revpath rp;
	size_t used;
	int code;

	if (strcmp(q->queue_name, "hold") != 0) {
		char name[RELEASE_QUEUE_NAME_MAX * 4];

		sanitize_text(name, sizeof(name),
		              (const unsigned char *)q->queue_name,
		              strlen(q->queue_name));
		snprintf(why, whylen, "in the %s queue, not on hold", name);
		return false;
	}
	if (q->arrival_time > msg->held_at + RELEASE_ARRIVAL_AFTER ||
	    q->arrival_time < msg->held_at - RELEASE_ARRIVAL_BEFORE) {
		snprintf(why, whylen,
		         "arrived at %lld, indexed at %lld: another message",
		         (long long)q->arrival_time, (long long)msg->held_at);
		return false;
	}
	code =
	    revpath_parse(q->sender, strlen(q->sender), &rp, err, sizeof(err));
	if (code != REVPATH_OK) {
		snprintf(why, whylen, "the queued sender has no domain");
		return false;
	}
	/* A local part may exceed 64 octets (and be kept cut); the mailbox
	 * is cut to HELD_SENDER_MAX as the milter indexed it. */
	used = text_copy(mailbox, sizeof(mailbox), rp.local);
	text_append(mailbox, sizeof(mailbox), &used, "@");
	text_append(mailbox, sizeof(mailbox), &used, rp.domain);
	if (msg->sender[0] != '\0' && strcmp(mailbox, msg->sender) != 0) {
		snprintf(why, whylen,
		         "the queued sender is not the indexed sender");
		return false;
	}
	if (!release_in_domain(rp.domain, domain)) {
		snprintf(why, whylen, "the queued sender is not in %s", domain);
		return false;
	}
	return true;
}

/* Releasing ----------------------------------------------------------- */

enum release_verdict {
	RELEASE_PENDING = 0, /* not seen in the listing (yet) */
	RELEASE_GO,
	RELEASE_REFUSE,
	RELEASE_KEEP,  /* unverified: stays indexed */
	RELEASE_RETRY, /* not listed, but the listing was not all read */
};

struct release_item {
	struct held_msg msg;
	enum release_verdict verdict;
};

struct release_batch {
	const char *domain;
	enum config_mta mta;
	char after[HELD_QUEUE_ID_MAX]; /* the cursor: IDs after this one */
	struct release_item items[RELEASE_BATCH_MAX];
	size_t n;
	char bad_ids[RELEASE_BATCH_MAX][HELD_QUEUE_ID_MAX];
	size_t nbad;
	size_t unreadable; /* listing lines that did not parse */
	bool more;
	struct release_result *res;
};

/* release_collect - store_held_list callback: the next batch of entries
 * after the cursor, in queue-ID order. */
static int
release_collect(void *ctx, const struct held_msg *msg)
{
	struct release_batch *b = ctx;

	if (b->after[0] != '\0' && strcmp(msg->queue_id, b->after) <= 0)
		return 0;
	if (b->n == RELEASE_BATCH_MAX || b->nbad == RELEASE_BATCH_MAX) {
		b->more = true;
		return 1; /* the next round takes the rest */
	}
	snprintf(b->after, sizeof(b->after), "%s", msg->queue_id);
	if (!release_queue_id_ok(msg->queue_id, b->mta)) {
		snprintf(b->bad_ids[b->nbad++], HELD_QUEUE_ID_MAX, "%s",
		         msg->queue_id);
		return 0;
	}
	b->items[b->n].msg = *msg;
	b->items[b->n++].verdict = RELEASE_PENDING;
	return 0;
}

/* release_item_cmp - bsearch: a queue ID against an item. */
static int
release_item_cmp(const void *key, const void *elem)
{
	const struct release_item *it = elem;

	return strcmp(key, it->msg.queue_id);
}

/* release_refuse - mark it refused, keep the first reason. */
static void
release_refuse(struct release_batch *b, struct release_item *it,
               const char *why)
{
	it->verdict = RELEASE_REFUSE;
	if (b->res->first_refused[0] == '\0')
		snprintf(b->res->first_refused, sizeof(b->res->first_refused),
		         "%.63s: %.400s", it->msg.queue_id, why);
}

/* release_listed - subprocess_lines callback: one line of the listing. */
static void
release_listed(void *ctx, const char *line, size_t len)
{
	struct release_batch *b = ctx;
	struct release_queued q;
	struct release_item *it;
	char why[RELEASE_WHY_MAX];

	if (release_parse_queued(line, len, &q) != 0) {
		b->unreadable++; /* it may have been one of ours */
		return;
	}
	it = b->n == 0 ? NULL
	               : bsearch(q.queue_id, b->items, b->n, sizeof(*b->items),
	                         release_item_cmp);
	if (it == NULL || it->verdict != RELEASE_PENDING)
		return; /* not ours, or listed twice: the first counts */
	if (release_judge(&it->msg, b->domain, &q, why, sizeof(why)))
		it->verdict = RELEASE_GO;
	else
		release_refuse(b, it, why);
}

/* release_verify - a verdict for every item of the batch. */
static int
release_verify(struct release_batch *b, const char *queue_command, char *err,
               size_t errlen)
{
	const char *argv[SUBPROCESS_ARGS_MAX];
	char words[1024];
	size_t i, skipped;

	if (queue_command[0] == '\0') {
		for (i = 0; i < b->n; i++)
			b->items[i].verdict =
			    b->items[i].msg.door == HELD_DOOR_INET
			        ? RELEASE_KEEP
			        : RELEASE_GO;
		return 0;
	}
	if (snprintf(words, sizeof(words), "%s", queue_command) >=
	        (int)sizeof(words) ||
	    subprocess_split(words, argv, SUBPROCESS_ARGS_MAX) < 0) {
		snprintf(err, errlen,
		         "the hold queue command must be an absolute path and "
		         "arguments");
		return -1;
	}
	skipped = 0;
	b->unreadable = 0;
	if (subprocess_lines(argv, release_listed, b, RELEASE_QUEUE_LINE_MAX,
	                     &skipped, RELEASE_TIMEOUT_MS, err, errlen) != 0)
		return -1;
	/* An entry missing from a listing with unread lines may be on one
	 * of them: keep it, never refuse (and forget) it. */
	for (i = 0; i < b->n; i++)
		if (b->items[i].verdict != RELEASE_PENDING)
			continue;
		else if (skipped + b->unreadable > 0)
			b->items[i].verdict = RELEASE_RETRY;
		else
			release_refuse(b, &b->items[i],
			               "not in the MTA's queue");
	return 0;
}

/* release_run - the command with the confirmed ids on stdin; 0 when it
 * exited 0. */
static int
release_run(const char *command, const struct release_batch *b, char *err,
            size_t errlen)
{
	const char *argv[SUBPROCESS_ARGS_MAX];
	char words[1024], *input;
	size_t i, used = 0;
	int rc;

	if (snprintf(words, sizeof(words), "%s", command) >=
	        (int)sizeof(words) ||
	    subprocess_split(words, argv, SUBPROCESS_ARGS_MAX) < 0) {
		snprintf(err, errlen,
		         "the release command must be an absolute path and "
		         "arguments");
		return -1;
	}
	if ((input = malloc(b->n * HELD_QUEUE_ID_MAX + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < b->n; i++) {
		size_t room = b->n * HELD_QUEUE_ID_MAX + 1 - used;
		int w;

		if (b->items[i].verdict != RELEASE_GO)
			continue;
		w = snprintf(input + used, room, "%s\n",
		             b->items[i].msg.queue_id);
		if (w < 0 || (size_t)w >= room)
			break; /* cannot happen: each ID is shorter than its
			          slot */
		used += (size_t)w;
	}
	rc = subprocess_run(argv, input, used, RELEASE_TIMEOUT_MS, err, errlen);
	free(input);
	return rc == 0 ? 0 : -1;
}

/* release_batch_count - items with verdict v. */
static size_t
release_batch_count(const struct release_batch *b, enum release_verdict v)
{
	size_t i, n = 0;

	for (i = 0; i < b->n; i++)
		n += b->items[i].verdict == v;
	return n;
}

/* release_forget - drop the items with verdict v from the index; how
 * many went. */
static size_t
release_forget(struct store *st, const struct release_batch *b,
               enum release_verdict v, char *err, size_t errlen)
{
	size_t i, n = 0;

	for (i = 0; i < b->n; i++)
		if (b->items[i].verdict == v &&
		    store_held_del(st, b->domain, b->items[i].msg.queue_id, err,
		                   errlen) == STORE_OK)
			n++;
	return n;
}

static int release_domain_with(struct store *st, const char *domain,
                               const char *command, const char *queue_command,
                               enum config_mta mta, const struct config *hooks,
                               struct release_result *res, char *err,
                               size_t errlen);

/* release_forget_go - drop the released items from the index in one
 * transaction with the "released" webhook event (outbox.h; none
 * without hooks); how many went.  Nothing goes when it fails (the
 * entries are refused at the next release: the MTA has them no more). */
static size_t
release_forget_go(struct store *st, const struct release_batch *b,
                  const struct config *hooks, char *err, size_t errlen)
{
	struct webhook_event ev = {.type = WEBHOOK_RELEASED,
	                           .domain = b->domain};
	struct domain_state s;
	struct store_batch *tx;
	size_t i, n = 0;
	int rc = STORE_OK;

	if (!outbox_enabled(hooks))
		return release_forget(st, b, RELEASE_GO, err, errlen);
	if (store_batch_begin(st, &tx, err, errlen) != STORE_OK)
		return 0;
	for (i = 0; i < b->n && rc == STORE_OK; i++) {
		if (b->items[i].verdict != RELEASE_GO)
			continue;
		rc = store_batch_del_held(
		    tx, b->domain, b->items[i].msg.queue_id, err, errlen);
		if (rc == STORE_OK)
			n++;
		else if (rc == STORE_NOTFOUND)
			rc = STORE_OK;
	}
	if (rc == STORE_OK && n > 0) {
		if (store_batch_get_state(tx, b->domain, &s, err, errlen) ==
		    STORE_OK) {
			ev.previous = ev.state = s.state;
			ev.st = &s;
		}
		ev.released = n;
		rc = outbox_put(tx, hooks, &ev, err, errlen);
	}
	if (rc != STORE_OK) {
		store_batch_abort(tx);
		return 0;
	}
	return store_batch_commit(tx, err, errlen) == STORE_OK ? n : 0;
}

int
release_domain(struct store *st, const char *domain, const char *command,
               const char *queue_command, enum config_mta mta,
               struct release_result *res, char *err, size_t errlen)
{
	return release_domain_with(st, domain, command, queue_command, mta,
	                           NULL, res, err, errlen);
}

int
release_domain_cfg(struct store *st, const char *domain,
                   const struct config *cfg, struct release_result *res,
                   char *err, size_t errlen)
{
	return release_domain_with(st, domain, cfg->release_command,
	                           cfg->hold_queue_command, cfg->mta, cfg, res,
	                           err, errlen);
}

/* release_any - store_held_list callback: one entry is enough. */
static int
release_any(void *ctx, const struct held_msg *msg)
{
	(void)msg;
	*(bool *)ctx = true;
	return 1;
}

/* release_domain_with - release_domain(), and the released event when
 * hooks has WebhookURLs. */
static int
release_domain_with(struct store *st, const char *domain, const char *command,
                    const char *queue_command, enum config_mta mta,
                    const struct config *hooks, struct release_result *res,
                    char *err, size_t errlen)
{
	struct release_batch *b;
	bool any = false;
	size_t i;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	/* Most domains hold nothing: no batch (a large one) for them; a
	 * listing that fails or meets a corrupt entry takes the long way,
	 * which reports it. */
	if (store_held_list(st, domain, release_any, &any, err, errlen) ==
	        STORE_OK &&
	    !any)
		return 0;
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	b->domain = domain;
	b->mta = mta;
	b->res = res;
	for (;;) {
		b->n = b->nbad = 0;
		b->more = false;
		rc = store_held_list(st, domain, release_collect, b, err,
		                     errlen);
		if (rc == STORE_CORRUPT) {
			/* the valid entries were listed: go on with them;
			 * the last round's message counts them all */
			snprintf(res->corrupt, sizeof(res->corrupt), "%s", err);
		} else if (rc != STORE_OK) {
			rc = -1;
			break;
		}
		rc = 0;
		for (i = 0; i < b->nbad; i++)
			if (store_held_del(st, domain, b->bad_ids[i], err,
			                   errlen) == STORE_OK)
				res->invalid++;
		if (b->n > 0) {
			if (release_verify(b, queue_command, err, errlen) !=
			    0) {
				rc = -1;
				break;
			}
			res->refused +=
			    release_forget(st, b, RELEASE_REFUSE, err, errlen);
			res->unverified += release_batch_count(b, RELEASE_KEEP);
			res->kept += release_batch_count(b, RELEASE_RETRY);
			if (release_batch_count(b, RELEASE_GO) > 0) {
				if (release_run(command, b, err, errlen) != 0) {
					rc = -1;
					break;
				}
				res->released += release_forget_go(st, b, hooks,
				                                   err, errlen);
			}
		}
		if (!b->more)
			break;
	}
	free(b);
	return rc;
}
