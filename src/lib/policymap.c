/*
 * policymap.c - a Postfix policy request mapped to the milter's facts,
 *	and a decision mapped to the policy reply; see policymap.h.
 *
 * SYNOPSIS
 *	#include "policymap.h"
 *
 *	enum policymap_stage policymap_stage(const char *protocol_state);
 *	void policymap_path(const struct policyreq *r, char *out,
 *	    size_t outlen);
 *	bool policymap_client(const char *addr, struct sockaddr_storage *ss);
 *	bool policymap_enter(struct policymap_txn *t,
 *	    const struct policyreq *r, enum policymap_stage stage);
 *	void policymap_reply(struct policymap_txn *t,
 *	    enum policymap_stage stage, const char *tag_header,
 *	    bool accept_ok, char *out, size_t outlen);
 *
 * DESCRIPTION
 *	The decision's reply text is made for smfi_setreply(), which wants
 *	every '%' doubled; the policy reply wants it once, so it is undone
 *	here.  Every octet that is not printable ASCII becomes '?': a CR or
 *	LF in a reply would end it early and start another.
 */
#include "policymap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

/* protocol_state values (Postfix's smtpd_state names). */
static const struct {
	const char *name;
	enum policymap_stage stage;
} policymap_stages[] = {
    {"MAIL", POLICYMAP_MAIL},
    {"RCPT", POLICYMAP_RCPT},
    {"DATA", POLICYMAP_DATA},
    {"END-OF-MESSAGE", POLICYMAP_EOM},
};

enum policymap_stage
policymap_stage(const char *protocol_state)
{
	for (size_t i = 0;
	     i < sizeof(policymap_stages) / sizeof(*policymap_stages); i++)
		if (strcmp(protocol_state, policymap_stages[i].name) == 0)
			return policymap_stages[i].stage;
	return POLICYMAP_OTHER;
}

void
policymap_path(const struct policyreq *r, char *out, size_t outlen)
{
	snprintf(out, outlen, "<%s>", r->sender);
}

bool
policymap_client(const char *addr, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		return true;
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		return true;
	}
	memset(ss, 0, sizeof(*ss));
	return false;
}

bool
policymap_enter(struct policymap_txn *t, const struct policyreq *r,
                enum policymap_stage stage)
{
	/* No instance (not Postfix's smtpd): every request is its own. */
	if (r->instance[0] == '\0' || strcmp(t->instance, r->instance) != 0) {
		memset(t, 0, sizeof(*t));
		text_copy(t->instance, sizeof(t->instance), r->instance);
	}
	return stage != POLICYMAP_OTHER && !t->decided;
}

/* policymap_put - printable ASCII of s (len octets; '%%' once when
 * undouble) appended at *n, '?' for the rest; cut to fit. */
static void
policymap_put(char *out, size_t outlen, size_t *n, const char *s, size_t len,
              bool undouble)
{
	for (size_t i = 0; i < len && s[i] != '\0'; i++) {
		char ch = s[i];

		if (*n + 1 >= outlen)
			break;
		if (undouble && ch == '%' && i + 1 < len && s[i + 1] == '%')
			i++;
		out[(*n)++] = ch >= 0x20 && ch < 0x7f ? ch : '?';
	}
	out[*n] = '\0';
}

/* policymap_words - "action=" and the words of the reply. */
static void
policymap_words(char *out, size_t outlen, const char *a, const char *b,
                const char *c, bool undouble_c)
{
	size_t n = 0, room = outlen > 2 ? outlen - 2 : 0;

	out[0] = '\0';
	policymap_put(out, room, &n, "action=", 7, false);
	policymap_put(out, room, &n, a, strlen(a), false);
	if (b != NULL) {
		policymap_put(out, room, &n, " ", 1, false);
		policymap_put(out, room, &n, b, strlen(b), false);
	}
	if (c != NULL && c[0] != '\0') {
		policymap_put(out, room, &n, " ", 1, false);
		policymap_put(out, room, &n, c, strlen(c), undouble_c);
	}
	out[n++] = '\n';
	out[n++] = '\n';
	out[n] = '\0';
}

void
policymap_reply(struct policymap_txn *t, enum policymap_stage stage,
                const char *tag_header, bool accept_ok, char *out,
                size_t outlen)
{
	const struct policy_decision *d = &t->d;
	const char *pass = accept_ok ? "OK" : "DUNNO";
	char hold[POLICYMAP_HOLD_MAX], tag[POLICY_HEADER_MAX + 2];

	if (stage == POLICYMAP_OTHER || !t->decided || !t->judged) {
		policymap_words(out, outlen, pass, NULL, NULL, false);
		return;
	}
	switch (d->action) {
	case POLICY_REJECT:
	case POLICY_TEMPFAIL:
		if (policy_sends_reply(d)) {
			policymap_words(out, outlen, d->smtp_code, d->xcode,
			                d->text, true);
			return;
		}
		policymap_words(out, outlen,
		                d->action == POLICY_REJECT ? "REJECT" : "DEFER",
		                NULL, NULL, false);
		return;
	case POLICY_QUARANTINE:
		if (t->marked)
			break;
		t->marked = true;
		snprintf(hold, sizeof(hold), "authready: %.*s",
		         (int)(sizeof(hold) - 12),
		         d->reason[0] ? d->reason : "not ready");
		policymap_words(out, outlen, "HOLD", hold, NULL, false);
		return;
	case POLICY_TAG:
		if (t->marked)
			break;
		t->marked = true;
		snprintf(tag, sizeof(tag), "%s:", tag_header);
		policymap_words(out, outlen, "PREPEND", tag, d->tag_value,
		                false);
		return;
	case POLICY_ACCEPT:
	case POLICY_MONITOR:
		break;
	}
	policymap_words(out, outlen, pass, NULL, NULL, false);
}
