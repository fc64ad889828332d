/*
 * zonelines.c - the DNS records a registered domain must publish.
 *
 * SYNOPSIS
 *	int zonelines_build(reg, defs, out, err, errlen);
 *	int zonelines_dkim_value(pem, pemlen, out, outlen, err, errlen);
 *	int zonelines_txt_strings(value, out, outlen);
 *	void zonelines_print_zone(out, set);
 *	void zonelines_print_json(out, set);
 *
 * DESCRIPTION
 *	The values follow the seed: "v=spf1 include:X ~all" on the MAIL FROM
 *	name (with ip4:/ip6: terms for egress addresses), an MX to the
 *	operator's feedback host, "v=DKIM1; k=rsa; p=..." with the public half
 *	of the operator's key, and "v=DMARC1; p=none;" (or the configured
 *	minimum policy).  A registry entry's own values win over defaults;
 *	an entry without a selector gets Selector and KeyFile, or a note that
 *	no selector is known.  A MAIL FROM name the checks would fail (the
 *	bare domain, or outside it) gets a note instead of MX and SPF values.
 *
 * DIAGNOSTICS
 *	zonelines_build() fails only when a key file cannot be read or holds
 *	no usable private key; the sentence names the file.
 */
#include "zonelines.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "json.h"
#include "readiness.h"
#include "safefile.h"

#define ZONELINES_KEY_FILE_MAX (64 * 1024)
#define ZONELINES_PUBKEY_MAX 4096

/* zonelines_pem_nopass - never prompt for a passphrase on a terminal. */
static int
zonelines_pem_nopass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int
zonelines_dkim_value(const char *pem, size_t pemlen, char *out, size_t outlen,
                     char *err, size_t errlen)
{
	unsigned char der[ZONELINES_PUBKEY_MAX], *p = der;
	char b64[ZONELINES_PUBKEY_MAX * 4 / 3 + 4];
	const char *k = "rsa";
	EVP_PKEY *pk;
	BIO *bio;
	size_t rawlen = 32;
	int len = -1;

	if (pemlen > ZONELINES_KEY_FILE_MAX ||
	    (bio = BIO_new_mem_buf(pem, (int)pemlen)) == NULL) {
		snprintf(err, errlen, "not a PEM private key");
		return -1;
	}
	pk = PEM_read_bio_PrivateKey(bio, NULL, zonelines_pem_nopass, NULL);
	BIO_free(bio);
	if (pk == NULL) {
		snprintf(err, errlen,
		         "no unencrypted PEM private key found in it");
		return -1;
	}
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		if (i2d_PUBKEY(pk, NULL) <= (int)sizeof(der))
			len = i2d_PUBKEY(pk, &p);
		break;
	case EVP_PKEY_ED25519:
		k = "ed25519"; /* RFC 8463: the raw 32-byte key, not an SPKI */
		if (EVP_PKEY_get_raw_public_key(pk, der, &rawlen) == 1)
			len = (int)rawlen;
		break;
	default:
		break;
	}
	EVP_PKEY_free(pk);
	if (len <= 0) {
		snprintf(err, errlen,
		         "the key is neither RSA nor ed25519, or too large");
		return -1;
	}
	EVP_EncodeBlock((unsigned char *)b64, der, len);
	if ((size_t)snprintf(out, outlen, "v=DKIM1; k=%s; p=%s", k, b64) >=
	    outlen) {
		snprintf(err, errlen, "the public key is too long");
		return -1;
	}
	return 0;
}

/* zonelines_read_key - read a key file, bounded, never blocking; 0 ok, -1
 * with err. */
static int
zonelines_read_key(const char *path, char *buf, size_t buflen, size_t *len,
                   char *err, size_t errlen)
{
	char why[SAFEFILE_ERR_MAX], *pem;
	size_t n;

	if (safefile_read(path, buflen - 1, 0, &pem, &n, NULL, why,
	                  sizeof(why)) != 0) {
		snprintf(err, errlen, "cannot read key file %s", why);
		return -1;
	}
	if (n == 0) {
		snprintf(err, errlen, "key file %s is empty", path);
		free(pem);
		return -1;
	}
	memcpy(buf, pem, n + 1);
	free(pem);
	*len = n;
	return 0;
}

static struct zonelines_rr *
zonelines_add(struct zonelines_set *set, const char *name, const char *type)
{
	struct zonelines_rr *rr = &set->rr[set->count++];

	memset(rr, 0, sizeof(*rr));
	snprintf(rr->name, sizeof(rr->name), "%s", name);
	snprintf(rr->type, sizeof(rr->type), "%s", type);
	return rr;
}

/* zonelines_mail_from_ok - the MAIL FROM rule of the checks (readiness.c):
 * not the domain itself, not outside its organizational domain. */
static int
zonelines_mail_from_ok(const char *domain, const char *mail_from, char *why,
                       size_t whylen)
{
	char org[DOMAIN_BUF];

	if (domain_org(domain, org, sizeof(org)) != 0)
		snprintf(org, sizeof(org), "%s", domain);
	if (strcmp(mail_from, domain) != 0 &&
	    (strcmp(mail_from, org) == 0 || domain_is_below(mail_from, org)))
		return 0;
	snprintf(
	    why, whylen,
	    "the registered MAIL FROM name is %s, which the checks refuse; "
	    "no record is issued for it: register the domain again with a "
	    "subdomain (--mail-from mail)",
	    strcmp(mail_from, domain) == 0 ? "the bare domain"
	                                   : "outside the domain");
	return -1;
}

/* zonelines_dkim - the key record of one selector; -1 with err (key file). */
static int
zonelines_dkim(struct zonelines_set *out, const char *domain, const char *sel,
               const char *key_path, char *err, size_t errlen)
{
	char name[ZONELINES_NAME_MAX], why[512];
	struct zonelines_rr *rr;
	size_t pemlen;
	char *pem;
	int rc = -1;

	snprintf(name, sizeof(name), "%s._domainkey.%s", sel, domain);
	rr = zonelines_add(out, name, "TXT");
	if (key_path[0] == '\0') {
		snprintf(rr->note, sizeof(rr->note),
		         "no key file registered for selector %s", sel);
		return 0;
	}
	if ((pem = malloc(ZONELINES_KEY_FILE_MAX)) == NULL) {
		snprintf(err, errlen, "out of memory for key file %s",
		         key_path);
		return -1;
	}
	if (zonelines_read_key(key_path, pem, ZONELINES_KEY_FILE_MAX, &pemlen,
	                       err, errlen) != 0)
		goto out;
	if (zonelines_dkim_value(pem, pemlen, rr->value, sizeof(rr->value), why,
	                         sizeof(why)) != 0) {
		snprintf(err, errlen, "key file %s: %s", key_path, why);
		goto out;
	}
	rc = 0;
out:
	free(pem);
	return rc;
}

/* zonelines_spf_value - the SPF policy from egress addresses and include. */
static void
zonelines_spf_value(const struct domain_reg *reg,
                    const struct zonelines_defaults *defs,
                    struct zonelines_rr *rr)
{
	const char *include =
	    reg->spf_include[0] ? reg->spf_include : defs->spf_include;
	size_t used, i, n = reg->negress ? reg->negress : defs->negress;

	used = (size_t)snprintf(rr->value, sizeof(rr->value), "v=spf1");
	for (i = 0; i < n && used < sizeof(rr->value); i++) {
		const char *ip =
		    reg->negress ? reg->egress[i] : defs->egress[i];

		used += (size_t)snprintf(rr->value + used,
		                         sizeof(rr->value) - used, " %s:%s",
		                         strchr(ip, ':') ? "ip6" : "ip4", ip);
	}
	if (include != NULL && include[0] != '\0' && used < sizeof(rr->value))
		used +=
		    (size_t)snprintf(rr->value + used, sizeof(rr->value) - used,
		                     " include:%s", include);
	if (used < sizeof(rr->value))
		snprintf(rr->value + used, sizeof(rr->value) - used, " ~all");
	if (n == 0 && (include == NULL || include[0] == '\0'))
		snprintf(rr->note, sizeof(rr->note),
		         "no SPFInclude or EgressIPs configured: this policy "
		         "authorizes no server yet");
}

int
zonelines_build(const struct domain_reg *reg,
                const struct zonelines_defaults *defs,
                struct zonelines_set *out, char *err, size_t errlen)
{
	char mail_from[DOMAIN_BUF], name[ZONELINES_NAME_MAX], why[512];
	const char *mx, *label;
	struct zonelines_rr *rr;
	size_t i, nsel;
	int policy;

	memset(out, 0, sizeof(*out));
	snprintf(out->domain, sizeof(out->domain), "%s", reg->domain);
	label = reg->mail_from[0] ? reg->mail_from : defs->mail_from;
	if (readiness_mail_from(reg->domain, label ? label : "mail", mail_from,
	                        sizeof(mail_from), why, sizeof(why)) != 0) {
		snprintf(err, errlen, "MAIL FROM '%s': %s", label, why);
		return -1;
	}
	mx = reg->mx_host[0] ? reg->mx_host : defs->mx_host;
	rr = zonelines_add(out, mail_from, "MX");
	if (mx != NULL && mx[0] != '\0')
		snprintf(rr->value, sizeof(rr->value), "10 %s.", mx);
	else
		snprintf(
		    rr->note, sizeof(rr->note),
		    "no MXHost configured: ask the operator for the feedback "
		    "host");
	rr = zonelines_add(out, mail_from, "TXT");
	zonelines_spf_value(reg, defs, rr);
	/* An entry stored before domain import judged its rows. */
	for (i = 0; i < 2 && zonelines_mail_from_ok(
	                         reg->domain, mail_from, out->rr[i].note,
	                         sizeof(out->rr[i].note)) != 0;
	     i++)
		out->rr[i].value[0] = '\0';

	nsel = reg->nselectors < DOMAIN_SELECTORS_MAX ? reg->nselectors
	                                              : DOMAIN_SELECTORS_MAX;
	for (i = 0; i < nsel; i++)
		if (zonelines_dkim(out, reg->domain, reg->selectors[i].name,
		                   reg->selectors[i].key_path, err,
		                   errlen) != 0)
			return -1;
	if (nsel == 0 && defs->selector != NULL && defs->selector[0] != '\0' &&
	    zonelines_dkim(out, reg->domain, defs->selector,
	                   defs->key_file != NULL ? defs->key_file : "", err,
	                   errlen) != 0)
		return -1;
	if (nsel == 0 &&
	    (defs->selector == NULL || defs->selector[0] == '\0')) {
		snprintf(name, sizeof(name), "SELECTOR._domainkey.%s",
		         reg->domain);
		rr = zonelines_add(out, name, "TXT");
		snprintf(
		    rr->note, sizeof(rr->note),
		    "no DKIM selector is known, so the domain cannot be "
		    "verified: register one (authready domain add --selector) "
		    "or set Selector in authready.conf");
	}

	snprintf(name, sizeof(name), "_dmarc.%s", reg->domain);
	rr = zonelines_add(out, name, "TXT");
	policy = reg->dmarc_min_policy >= 0 ? reg->dmarc_min_policy
	                                    : defs->dmarc_min_policy;
	snprintf(rr->value, sizeof(rr->value), "v=DMARC1; p=%s;",
	         dmarc_policy_name(policy < 0 ? DMARC_POLICY_NONE
	                                      : (enum dmarc_policy)policy));
	return 0;
}

int
zonelines_txt_strings(const char *value, char *out, size_t outlen)
{
	size_t used = 0, inpiece = 0;
	const unsigned char *p;

	if (outlen == 0)
		return -1;
#define ZONELINES_PUT(s, n)                                                    \
	do {                                                                   \
		if (used + (n) + 1 > outlen)                                   \
			return -1;                                             \
		memcpy(out + used, (s), (n));                                  \
		used += (n);                                                   \
	} while (0)
	ZONELINES_PUT("\"", 1);
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		char esc[8];

		if (inpiece == ZONELINES_TXT_STRING_MAX) {
			ZONELINES_PUT("\" \"", 3);
			inpiece = 0;
		}
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			ZONELINES_PUT(esc, 2);
		} else if (*p < 0x20 || *p > 0x7e) {
			snprintf(esc, sizeof(esc), "\\%03u", *p);
			ZONELINES_PUT(esc, 4);
		} else {
			ZONELINES_PUT(p, 1);
		}
		inpiece++;
	}
	ZONELINES_PUT("\"", 1);
#undef ZONELINES_PUT
	out[used] = '\0';
	return 0;
}

void
zonelines_print_zone(FILE *out, const struct zonelines_set *set)
{
	char strings[ZONELINES_VALUE_MAX * 2];
	size_t i;

	fprintf(out, "; records %s must publish\n", set->domain);
	for (i = 0; i < set->count; i++) {
		const struct zonelines_rr *rr = &set->rr[i];
		char owner[ZONELINES_NAME_MAX + 1];

		snprintf(owner, sizeof(owner), "%s.", rr->name);
		if (rr->value[0] == '\0') {
			fprintf(out, "; %s %s: %s\n", owner, rr->type,
			        rr->note);
			continue;
		}
		if (rr->note[0] != '\0')
			fprintf(out, "; %s\n", rr->note);
		if (strcmp(rr->type, "TXT") == 0 &&
		    zonelines_txt_strings(rr->value, strings,
		                          sizeof(strings)) == 0)
			fprintf(out, "%-40s %d IN TXT %s\n", owner,
			        ZONELINES_TTL, strings);
		else
			fprintf(out, "%-40s %d IN %s %s\n", owner,
			        ZONELINES_TTL, rr->type, rr->value);
	}
}

void
zonelines_print_json(FILE *out, const struct zonelines_set *set)
{
	size_t i;

	fputs("{\"domain\": ", out);
	json_put_string(out, set->domain);
	fputs(", \"records\": [", out);
	for (i = 0; i < set->count; i++) {
		const struct zonelines_rr *rr = &set->rr[i];

		fputs(i ? ", {\"name\": " : "{\"name\": ", out);
		json_put_string(out, rr->name);
		fputs(", \"type\": ", out);
		json_put_string(out, rr->type);
		fputs(", \"value\": ", out);
		json_put_string(out, rr->value);
		fputs(", \"note\": ", out);
		json_put_string(out, rr->note);
		fputs("}", out);
	}
	fputs("]}\n", out);
}
