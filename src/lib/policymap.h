/*
 * policymap.h - a Postfix policy request mapped to the milter's facts,
 *	and a decision mapped to the policy reply.
 *
 * SYNOPSIS
 *	#include "policymap.h"
 *
 *	The functions: see policymap.c.
 *
 * DESCRIPTION
 *	What the milter reads from its macros the policy door reads from
 *	the request: sender is the MAIL FROM argument ("<" sender ">"),
 *	client_address the client, sasl_username {auth_authen}, queue_id
 *	{i}, protocol_state the stage.  Pure: no I/O, no clock.
 *
 * ONE DECISION PER TRANSACTION
 *	With smtpd_delay_reject=yes (Postfix's default) the request comes at
 *	RCPT TO, once per recipient, and again at DATA or END-OF-MESSAGE when
 *	the door is named in those restrictions.  The first request of a
 *	transaction (a new instance) at MAIL, RCPT, DATA or END-OF-MESSAGE is
 *	decided; the others are answered from that decision.  Requests at
 *	other stages (CONNECT, HELO, VRFY, ETRN) are not judged: DUNNO.
 *
 * REPLIES
 *	accept and monitor  DUNNO (OK with PolicyAcceptOK yes)
 *	reject, tempfail    "550 5.7.1 text", "451 4.7.1 text" (the codes
 *	                    and texts of the milter), every recipient
 *	quarantine          HOLD with the reason, once per transaction
 *	tag                 PREPEND TagHeader: value, once per transaction
 *	Nothing but printable ASCII reaches a reply.
 */
#ifndef AUTHREADY_POLICYMAP_H
#define AUTHREADY_POLICYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "policy.h"
#include "policyreq.h"

#define POLICYMAP_REPLY_MAX 1024 /* "action=...\n\n" */
#define POLICYMAP_HOLD_MAX 200   /* octets of the HOLD reason */

enum policymap_stage {
	POLICYMAP_OTHER = 0, /* CONNECT, HELO, VRFY, ETRN: not judged */
	POLICYMAP_MAIL,
	POLICYMAP_RCPT,
	POLICYMAP_DATA,
	POLICYMAP_EOM, /* END-OF-MESSAGE */
};

/* One transaction's decision, kept by the connection it came over. */
struct policymap_txn {
	char instance[POLICYREQ_SHORT_MAX];
	bool decided;
	bool judged;  /* in scope: the decision below counts */
	bool marked;  /* HOLD or PREPEND answered */
	bool indexed; /* the held entry is written */
	struct policy_decision d;
};

/* policymap_stage - the stage of a protocol_state value. */
enum policymap_stage policymap_stage(const char *protocol_state);

/* policymap_path - the MAIL FROM argument for sender.c: "<sender>". */
void policymap_path(const struct policyreq *r, char *out, size_t outlen);

/* policymap_client - client_address as a socket address; false when it
 * is not an IPv4 or IPv6 address (Postfix's "unknown"). */
bool policymap_client(const char *addr, struct sockaddr_storage *ss);

/* policymap_enter - r's transaction in t (a new instance resets t);
 * true when it must be decided now. */
bool policymap_enter(struct policymap_txn *t, const struct policyreq *r,
                     enum policymap_stage stage);

/* policymap_reply - the reply to a request at stage under t's decision,
 * "action=...\n\n" in out; marks t when it answers HOLD or PREPEND. */
void policymap_reply(struct policymap_txn *t, enum policymap_stage stage,
                     const char *tag_header, bool accept_ok, char *out,
                     size_t outlen);

#endif
