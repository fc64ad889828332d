/*
 * zonelines.h - the DNS records a registered domain must publish.
 *
 * SYNOPSIS
 *	#include "zonelines.h"
 *
 *	The functions: see zonelines.c.
 *
 * DESCRIPTION
 *	zonelines_build() derives, from a registry entry and the global
 *	defaults, the records of the seed's table: MX and SPF TXT on the MAIL
 *	FROM name, one DKIM TXT per selector (public key derived from the
 *	private key file) and the DMARC TXT.  zonelines_print_zone() writes
 *	them as zone-file lines, TXT values split into strings of at most 255
 *	bytes (RFC 1035 section 3.3); zonelines_print_json() writes one JSON
 *	object.
 */
#ifndef AUTHREADY_ZONELINES_H
#define AUTHREADY_ZONELINES_H

#include <stddef.h>
#include <stdio.h>

#include "domain.h"

#define ZONELINES_MAX (3 + DOMAIN_SELECTORS_MAX)
#define ZONELINES_VALUE_MAX 4096
#define ZONELINES_TXT_STRING_MAX 255
#define ZONELINES_TTL 3600
/* selector + "._domainkey." + domain */
#define ZONELINES_NAME_MAX (DOMAIN_SELECTOR_MAX + 12 + DOMAIN_BUF)

struct zonelines_defaults {
	const char *mail_from;     /* MailFrom */
	const char *mx_host;       /* MXHost */
	const char *spf_include;   /* SPFInclude */
	const char *const *egress; /* EgressIPs */
	size_t negress;
	int dmarc_min_policy; /* enum dmarc_policy */
	const char *selector; /* Selector, for an entry without one */
	const char *key_file; /* KeyFile of that selector */
};

struct zonelines_rr {
	char name[ZONELINES_NAME_MAX];
	char type[8]; /* "MX" or "TXT" */
	char value[ZONELINES_VALUE_MAX];
	char note[256]; /* why it is needed, or what is missing */
};

struct zonelines_set {
	char domain[DOMAIN_BUF];
	size_t count;
	struct zonelines_rr rr[ZONELINES_MAX];
};

/* zonelines_build - 0 ok; -1 with a sentence in err (unreadable key). */
int zonelines_build(const struct domain_reg *reg,
                    const struct zonelines_defaults *defs,
                    struct zonelines_set *out, char *err, size_t errlen);

/* zonelines_dkim_value - "v=DKIM1; k=rsa; p=..." from a PEM private key. */
int zonelines_dkim_value(const char *pem, size_t pemlen, char *out,
                         size_t outlen, char *err, size_t errlen);

/* zonelines_txt_strings - value as "..." "..." pieces of <= 255 bytes. */
int zonelines_txt_strings(const char *value, char *out, size_t outlen);

void zonelines_print_zone(FILE *out, const struct zonelines_set *set);
void zonelines_print_json(FILE *out, const struct zonelines_set *set);

#endif
