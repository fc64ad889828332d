/*
 * policyreq.h - a Postfix policy delegation request, read with bounds.
 *
 * SYNOPSIS
 *	#include "policyreq.h"
 *
 *	The functions: see policyreq.c.
 *
 * DESCRIPTION
 *	Postfix's SMTPD policy protocol (SMTPD_POLICY_README): a request is
 *	lines "name=value\n" ended by an empty line; the reply is
 *	"action=...\n\n".  policyreq_end() finds where the first complete
 *	request in a buffer ends; policyreq_parse() reads one into a struct
 *	policyreq, keeping only the attributes authready decides on and
 *	ignoring the others.  Both are pure and take (buf, len).
 *
 * LIMITS
 *	A request over POLICYREQ_MAX octets, a line without "=", an empty
 *	attribute name, a NUL octet, a kept attribute given twice or longer
 *	than its field is refused: the daemon then closes the connection,
 *	as Postfix's own servers do with a broken client.
 */
#ifndef AUTHREADY_POLICYREQ_H
#define AUTHREADY_POLICYREQ_H

#include <stdbool.h>
#include <stddef.h>

#define POLICYREQ_MAX 16384       /* octets of one request, empty line too */
#define POLICYREQ_NAME_MAX 64     /* octets of an attribute name */
#define POLICYREQ_SENDER_MAX 2048 /* Postfix's line_length_limit */
#define POLICYREQ_SHORT_MAX 64
#define POLICYREQ_LOGIN_MAX 256

/* The attributes kept; "" when the request did not give one. */
struct policyreq {
	char request[POLICYREQ_SHORT_MAX];        /* smtpd_access_policy */
	char protocol_state[POLICYREQ_SHORT_MAX]; /* RCPT, END-OF-MESSAGE */
	char sender[POLICYREQ_SENDER_MAX];        /* without <>, "" null */
	char client_address[POLICYREQ_SHORT_MAX]; /* 192.0.2.1, 2001:db8::1 */
	char sasl_username[POLICYREQ_LOGIN_MAX];
	char queue_id[POLICYREQ_SHORT_MAX];
	char instance[POLICYREQ_SHORT_MAX]; /* one per transaction */
	bool have_sender;                   /* sender= was present */
};

/* policyreq_end - the length of the first complete request in buf (its
 * empty line included); 0 when buf holds no whole request yet, -1 when
 * the request is already too long (more than POLICYREQ_MAX octets). */
long policyreq_end(const char *buf, size_t len);

/* policyreq_parse - one request (as policyreq_end measured it, or
 * without its empty line) into r; 0, or -1 with a sentence in err. */
int policyreq_parse(const char *buf, size_t len, struct policyreq *r, char *err,
                    size_t errlen);

#endif
