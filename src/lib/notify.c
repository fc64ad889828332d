/*
 * notify.c - the connectivity confirmation email; see notify.h.
 *
 * SYNOPSIS
 *	int notify_compose(st, contact, from, now, buf, buflen);
 *	int notify_message_id(domain, version, from, buf, buflen);
 *	int notify_compose_id(st, contact, from, now, message_id, buf,
 *	    buflen);
 *	int notify_send(sendmail_cmd, msg, len, err, errlen);
 *
 * DESCRIPTION
 *	Addresses come from the registry, typed by an operator or imported
 *	from CSV, and end up in headers: anything but a plain
 *	local@domain is refused so no header can be injected.  The body
 *	lists the records that were found valid.
 */
#include "notify.h"

#include <stdio.h>
#include <string.h>

#include "domainname.h"
#include "report.h"
#include "subprocess.h"

int
notify_compose(const struct domain_state *st, const char *contact,
               const char *from, time_t now, char *buf, size_t buflen)
{
	return notify_compose_id(st, contact, from, now, NULL, buf, buflen);
}

int
notify_message_id(const char *domain, long long version, const char *from,
                  char *buf, size_t buflen)
{
	const char *at = strrchr(from, '@');
	int n;

	if (at == NULL || at[1] == '\0' || domain[0] == '\0')
		return -1;
	n = snprintf(buf, buflen, "<authready.%lld.%s@%s>", version, domain,
	             at + 1);
	return n < 0 || (size_t)n >= buflen ? -1 : 0;
}

int
notify_compose_id(const struct domain_state *st, const char *contact,
                  const char *from, time_t now, const char *message_id,
                  char *buf, size_t buflen)
{
	char date[64], idline[512];
	struct tm tm;
	size_t used, i;
	int n;

	if (!address_plain_ok(contact) || !address_plain_ok(from))
		return -1;
	idline[0] = '\0';
	if (message_id != NULL &&
	    (strpbrk(message_id, "\r\n") != NULL ||
	     snprintf(idline, sizeof(idline), "Message-ID: %s\n", message_id) >=
	         (int)sizeof(idline)))
		return -1;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	n = snprintf(
	    buf, buflen,
	    "From: %s\n"
	    "To: %s\n"
	    "Subject: %s is ready to send mail\n"
	    "Date: %s\n"
	    "%s"
	    "Auto-Submitted: auto-generated\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=us-ascii\n"
	    "\n"
	    "Hello,\n"
	    "\n"
	    "the DNS records of %s are published correctly, and mail from\n"
	    "it may now be sent.  This is the connectivity confirmation for\n"
	    "your domain setup.\n"
	    "\n"
	    "Records verified:\n",
	    from, contact, st->domain, date, idline, st->domain);
	if (n < 0 || (size_t)n >= buflen)
		return -1;
	used = (size_t)n;
	for (i = 0; i < st->nrecords && i < DOMAIN_RECORDS_MAX; i++) {
		n = snprintf(
		    buf + used, buflen - used, "  %-5s %s\n",
		    check_type_name((enum check_type)st->records[i].type),
		    st->records[i].name);
		if (n < 0 || (size_t)n >= buflen - used)
			return -1;
		used += (size_t)n;
	}
	n = snprintf(
	    buf + used, buflen - used,
	    "\n"
	    "Keep these records in place: they are checked regularly, and\n"
	    "mail stops if they break.\n");
	if (n < 0 || (size_t)n >= buflen - used)
		return -1;
	return (int)(used + (size_t)n);
}

int
notify_send(const char *sendmail_cmd, const char *msg, size_t len, char *err,
            size_t errlen)
{
	char words[1024];
	const char *argv[SUBPROCESS_ARGS_MAX];
	int rc;

	if (snprintf(words, sizeof(words), "%s", sendmail_cmd) >=
	        (int)sizeof(words) ||
	    subprocess_split(words, argv, SUBPROCESS_ARGS_MAX) < 0) {
		snprintf(err, errlen,
		         "SendmailPath must be an absolute path and arguments");
		return -1;
	}
	rc = subprocess_run(argv, msg, len, NOTIFY_TIMEOUT_MS, err, errlen);
	return rc == 0 ? 0 : -1;
}
