/*
 * held-add.c - index a held message in a state store, as the milter does
 * when it quarantines one, for the tests of the held-mail routes.
 *
 * SYNOPSIS
 *	held-add STATEDIR DOMAIN QUEUEID [SENDER]
 *
 * DESCRIPTION
 *	Opens the store of STATEDIR and writes a held entry for DOMAIN:
 *	QUEUEID (a Postfix queue ID), held now, reason "pending", door
 *	unix (so a release needs no HoldQueueCommand), SENDER (default
 *	bounces@mail.DOMAIN).  Exit 0, or 1 with the store's message.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "storecodec.h"

int
main(int argc, char **argv)
{
	struct held_msg msg;
	struct store *st;
	char err[1024];
	int rc;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: held-add STATEDIR DOMAIN QUEUEID "
		                "[SENDER]\n");
		return 64;
	}
	memset(&msg, 0, sizeof(msg));
	snprintf(msg.domain, sizeof(msg.domain), "%s", argv[2]);
	snprintf(msg.queue_id, sizeof(msg.queue_id), "%s", argv[3]);
	snprintf(msg.reason, sizeof(msg.reason), "pending");
	if (argc == 5)
		snprintf(msg.sender, sizeof(msg.sender), "%s", argv[4]);
	else
		snprintf(msg.sender, sizeof(msg.sender), "bounces@mail.%s",
		         argv[2]);
	msg.held_at = (int64_t)time(NULL);
	msg.door = HELD_DOOR_UNIX;
	if (store_open(argv[1], 0, NULL, &st, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "held-add: %s\n", err);
		return 1;
	}
	rc = store_held_put(st, &msg, err, sizeof(err));
	store_close(st);
	if (rc != STORE_OK) {
		fprintf(stderr, "held-add: %s\n", err);
		return 1;
	}
	return 0;
}
