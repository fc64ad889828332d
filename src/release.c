/*
 * release.c - release held mail of a domain; see release.h.
 *
 * SYNOPSIS
 *	bool release_queue_id_ok(id);
 *	int release_domain(st, domain, command, released, invalid, err,
 *	    errlen);
 *
 * DESCRIPTION
 *	IDs are collected in batches of RELEASE_BATCH_MAX, written one per
 *	line to the command's stdin, and deleted from the index only after
 *	the command exited 0.  An invalid ID is never passed on; it is
 *	dropped from the index (it cannot name a message) and counted.
 */
#include "release.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subprocess.h"

bool
release_queue_id_ok(const char *id)
{
	size_t i, len = strlen(id);

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

struct release_batch {
	char ids[RELEASE_BATCH_MAX][HELD_QUEUE_ID_MAX];
	size_t n;
	size_t bad;
	char bad_ids[RELEASE_BATCH_MAX][HELD_QUEUE_ID_MAX];
	size_t nbad;
};

static int
release_collect(void *ctx, const struct held_msg *msg)
{
	struct release_batch *b = ctx;

	if (!release_queue_id_ok(msg->queue_id)) {
		if (b->nbad < RELEASE_BATCH_MAX)
			snprintf(b->bad_ids[b->nbad++], HELD_QUEUE_ID_MAX, "%s",
			    msg->queue_id);
		return 0;
	}
	if (b->n == RELEASE_BATCH_MAX)
		return 1; /* the next round takes the rest */
	snprintf(b->ids[b->n++], HELD_QUEUE_ID_MAX, "%s", msg->queue_id);
	return 0;
}

/* release_run - the command with ids on stdin; 0 when it exited 0. */
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
		int w = snprintf(input + used, room, "%s\n", b->ids[i]);

		if (w < 0 || (size_t)w >= room)
			break; /* cannot happen: each ID is shorter than its slot */
		used += (size_t)w;
	}
	rc = subprocess_run(argv, input, used, RELEASE_TIMEOUT_MS, err,
	    errlen);
	free(input);
	return rc == 0 ? 0 : -1;
}

int
release_domain(struct store *st, const char *domain, const char *command,
    size_t *released, size_t *invalid, char *err, size_t errlen)
{
	struct release_batch *b;
	size_t i, before;
	int rc = 0;

	*released = *invalid = 0;
	if ((b = malloc(sizeof(*b))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		b->n = b->nbad = 0;
		if (store_held_list(st, domain, release_collect, b, err,
			errlen) != STORE_OK) {
			rc = -1;
			break;
		}
		for (i = 0; i < b->nbad; i++)
			if (store_held_del(st, domain, b->bad_ids[i], err,
				errlen) == STORE_OK)
				(*invalid)++;
		if (b->n == 0)
			break;
		if (release_run(command, b, err, errlen) != 0) {
			rc = -1;
			break;
		}
		before = *released;
		for (i = 0; i < b->n; i++)
			if (store_held_del(st, domain, b->ids[i], err, errlen) ==
			    STORE_OK)
				(*released)++;
		if (*released == before) {
			rc = -1; /* the index will not shrink: do not loop */
			break;
		}
	}
	free(b);
	return rc;
}
