/*
 * notify.h - the connectivity confirmation email of the seed.
 *
 * SYNOPSIS
 *	#include "notify.h"
 *
 *	The functions: see notify.c.
 *
 * DESCRIPTION
 *	When a domain is verified for the first time and has a contact address,
 *	its owner gets one message saying the records are right and mail may
 *	flow.  notify_compose() builds the RFC 5322 message (pure);
 *	notify_send() hands it to the local MTA through the configured sendmail
 *	program ("-t -oi": recipients from the headers, a lone dot is no end).
 */
#ifndef AUTHREADY_NOTIFY_H
#define AUTHREADY_NOTIFY_H

#include <stddef.h>
#include <time.h>

#include "domain.h"

#define NOTIFY_MESSAGE_MAX 8192
#define NOTIFY_TIMEOUT_MS 30000
#define NOTIFY_SENDMAIL_DEFAULT "/usr/sbin/sendmail -t -oi"

/*
 * notify_compose - the message for a newly verified domain; from is the
 * sender address.  Returns its length, or -1 when an address is unsafe or
 * the message does not fit.
 */
int notify_compose(const struct domain_state *st, const char *contact,
                   const char *from, time_t now, char *buf, size_t buflen);

/*
 * notify_message_id - "<authready.VERSION.DOMAIN@HOST>" into buf, HOST the
 * domain of from: the Message-ID of the fleet's notice of domain's
 * verification at clock version.  0, or -1 when it does not fit or from
 * has no domain.
 */
int notify_message_id(const char *domain, long long version, const char *from,
                      char *buf, size_t buflen);

/*
 * notify_compose_id - notify_compose() with a Message-ID header (when
 * message_id is not NULL), so a resend is recognized as the same message.
 */
int notify_compose_id(const struct domain_state *st, const char *contact,
                      const char *from, time_t now, const char *message_id,
                      char *buf, size_t buflen);

/* notify_send - run sendmail_cmd with msg on stdin; 0 ok, -1 with err. */
int notify_send(const char *sendmail_cmd, const char *msg, size_t len,
                char *err, size_t errlen);

#endif
