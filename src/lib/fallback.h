/*
 * fallback.h - OnMailFromNotReady: a fallback MAIL FROM for a domain
 *	whose only failing records are its MAIL FROM's, as Amazon SES does.
 *
 * SYNOPSIS
 *	#include "fallback.h"
 *
 *	The functions: see fallback.c.
 *
 * DESCRIPTION
 *	The seed's MAIL FROM records (MX and SPF on mail.DOMAIN) are the
 *	ones customers get wrong most, and they matter least to DMARC when
 *	DKIM aligns.  With OnMailFromNotReady fallback, a domain refused
 *	only because of them is let through with its envelope sender
 *	replaced by FallbackMailFrom (an address in a domain the operator
 *	has verified): SES's BehaviorOnMxFailure=UseDefaultValue.
 *	fallback_decide() turns policy_decide()'s decision into that one;
 *	the milter replaces the sender at end of message (smfi_chgfrom).
 *	Pure: no I/O, no clock.
 *
 * RULES
 *	A decision falls back when all of these hold:
 *	1. OnMailFromNotReady is fallback (the default, reject, never does).
 *	2. The enforced decision (would_be) is a reject of a known, fresh
 *	   state, pending or failed, by On<State> or DomainActions: never a
 *	   tempfail (no state, a stale one, DNS trouble), never the reject
 *	   of UnregisteredDomains reject (no state is read), never a
 *	   quarantine or tag an operator chose.
 *	3. The state's records: at least one that is not a pass, and every
 *	   such record is SPF or MX (the MAIL FROM's); DKIM and DMARC were
 *	   checked and every DKIM and DMARC record passes.
 *	The decision then accepts (Mode monitor, or an On<Situation> or
 *	DomainActions monitor: still monitor, would_be accept), has no
 *	reply, a warning in the log, the reason says the sender is replaced
 *	by the fallback address, and fallback is set.
 *
 *	The policy door cannot change the sender: it never asks, and such a
 *	domain is refused there as the On<Situation> setting says.
 */
#ifndef AUTHREADY_FALLBACK_H
#define AUTHREADY_FALLBACK_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

#define FALLBACK_ADDRESS_MAX 256 /* FallbackMailFrom, NUL included */

enum fallback_mode {
	FALLBACK_REJECT = 0, /* the default: On<Situation> decides */
	FALLBACK_ON,         /* OnMailFromNotReady fallback */
};

struct fallback_config {
	enum fallback_mode mode;            /* OnMailFromNotReady */
	char address[FALLBACK_ADDRESS_MAX]; /* FallbackMailFrom; "" unset */
};

/* fallback_config_defaults - OnMailFromNotReady reject, no address. */
void fallback_config_defaults(struct fallback_config *fc);

/* fallback_records_ok - the records allow the fallback (rule 3):
 * pass and problem are the state's record types by status, a bit
 * (1 << enum check_type) each.  Pure. */
bool fallback_records_ok(unsigned pass, unsigned problem);

/* fallback_decide - d (policy_decide()'s on in) becomes the fallback
 * when the rules allow it; true when it did.  Pure. */
bool fallback_decide(const struct fallback_config *fc,
                     const struct policy_input *in, struct policy_decision *d);

/* fallback_mode_name - "reject", "fallback". */
const char *fallback_mode_name(enum fallback_mode m);

/*
 * Value parsers: 0, or -1 with a sentence naming the bad value in err
 * (the target unchanged).  An address is a plain local@domain
 * (address_plain_ok(): no spaces, quotes, brackets or other specials),
 * a local part of at most 64 octets and a domain that normalizes
 * (domain_normalize()); out gets local@normalized-domain.
 */
int fallback_parse_mode(const char *buf, size_t len, enum fallback_mode *m,
                        char *err, size_t errlen);
int fallback_parse_address(const char *buf, size_t len, char *out,
                           size_t outlen, char *err, size_t errlen);

/* fallback_config_check - a rule across the two keys: fallback needs a
 * FallbackMailFrom.  0, or -1 with the rule and the fix in err. */
int fallback_config_check(const struct fallback_config *fc, char *err,
                          size_t errlen);

#endif
