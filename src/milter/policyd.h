/*
 * policyd.h - the Postfix policy door of authready-milter: an event
 *	loop serving SMTPD policy delegation requests.
 *
 * SYNOPSIS
 *	#include "policyd.h"
 *
 *	The functions: see policyd.c.
 *
 * DESCRIPTION
 *	One thread runs an epoll loop over the listening socket and every
 *	connection Postfix's smtpd processes keep open (one per smtpd
 *	process, reused for up to smtpd_policy_service_max_use requests).
 *	A request is read with bounds (policyreq.c), mapped to the milter's
 *	facts (policymap.c) and judged by decide.c as the milter judges a
 *	MAIL FROM: the same store, checker, snapshot and log line.  No DNS
 *	runs on the loop: a request whose sender must wait for a check
 *	(CheckWait, as in the milter) is handed to a thread of its own for
 *	that wait, its connection out of the loop until it is answered.
 */
#ifndef AUTHREADY_POLICYD_H
#define AUTHREADY_POLICYD_H

#include <stdbool.h>
#include <stddef.h>

#include "storecodec.h"

#define POLICYD_IDLE_SECONDS 330 /* Postfix's max_idle is 300 s */
#define POLICYD_CONNS_MAX 4096   /* connections open at once */
#define POLICYD_WAITERS_MAX 256  /* requests waiting for a check at once */

/* policyd_start - serve the listening socket fd (nonblocking, listening)
 * from a thread of its own; door marks held entries.  0, or -1 with
 * err. */
int policyd_start(int fd, enum held_door door, char *err, size_t errlen);

/* policyd_stop - end the loop and close its connections; false when a
 * request still waits for a check after seconds (the store and the
 * checker must then outlive it). */
bool policyd_stop(int seconds);

#endif
