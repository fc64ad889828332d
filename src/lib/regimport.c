/*
 * regimport.c - registry entries from CSV rows and from command options.
 *
 * SYNOPSIS
 *	int regimport_header(hdr, cols, err, errlen);
 *	int regimport_row(cols, row, now, out, err, errlen);
 *	void regimport_reg_init(reg, now);
 *	int regimport_set(reg, col, text, len, why, whylen);
 *	int regimport_selector_ok(name, len);
 *	int regimport_add_selector(reg, name, namelen, key, keylen, why,
 *	    whylen);
 *	int regimport_parse_selectors(reg, text, len, why, whylen);
 *	int regimport_parse_egress(reg, text, len, why, whylen);
 *	int regimport_parse_policy(text, len, policy);
 *	int regimport_parse_time(text, len, t);
 *	int regimport_names_ok(domain, mail_from, selectors, nsel, why,
 *	    whylen);
 *	int regimport_validate(reg, defs, why, whylen);
 *	void regimport_seen_init(seen);
 *	int regimport_seen_add(seen, domain, line, err, errlen);
 *	void regimport_seen_free(seen);
 *
 * DESCRIPTION
 *	The column table maps each header name to the setter that validates
 *	and stores its value.  Values are applied in table order, so the
 *	domain is known when mail_from and the selectors are judged.
 *
 *	domain, mx and spf_include go through domain_normalize().
 *	mail_from is a single label (relative to the domain) or a full name;
 *	it is validated as readiness_mail_from() resolves it and stored in
 *	the form given, normalized.  selectors is a space-separated list of
 *	SEL or SEL=KEYFILE (KEYFILE an absolute path; SEL="KEYFILE" when
 *	it holds spaces, which cannot hold a quote).  egress_ips lists
 *	IPv4/IPv6 addresses with an optional /prefix, separated by spaces,
 *	semicolons or commas.  dmarc_min_policy is none, quarantine or
 *	reject.  contact is a plain local@domain address.  added is the
 *	registration time, UTC ("2026-12-05T12:30:04Z") or seconds since
 *	1970; empty means now.
 *
 *	regimport_validate() is the last word on a whole entry, for every way
 *	in: it judges the stored form again (an entry built by other code is
 *	not trusted), applies the seed's MAIL FROM rule (a subdomain, inside
 *	the organizational domain), and refuses a domain whose names to
 *	publish (_dmarc., the MAIL FROM name, SEL._domainkey.) would not fit
 *	in 253 octets: such a domain could be stored but never checked.
 *
 * DIAGNOSTICS
 *	Every error is one sentence; row errors name the line, the column
 *	and the value (made printable by sanitize_text()).
 */
#include "regimport.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "netlist.h"
#include "errbuf.h"
#include "readiness.h"
#include "sanitize.h"
#include "text.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define REGIMPORT_QUOTE_MAX 96   /* a value echoed in an error */
#define REGIMPORT_TEXT_MAX 1024  /* a name before normalization */
#define REGIMPORT_POLICY_MAX 16  /* "quarantine" and room to spare */
#define REGIMPORT_DKIM_SUFFIX 12 /* "._domainkey." */
#define REGIMPORT_TIME_MAX 32    /* "2026-12-05T12:30:04Z", a number */

typedef int (*regimport_setter)(struct domain_reg *, const char *, size_t,
                                char *, size_t);

static int set_domain(struct domain_reg *, const char *, size_t, char *,
                      size_t);
static int set_mail_from(struct domain_reg *, const char *, size_t, char *,
                         size_t);
static int set_selectors(struct domain_reg *, const char *, size_t, char *,
                         size_t);
static int set_mx(struct domain_reg *, const char *, size_t, char *, size_t);
static int set_spf_include(struct domain_reg *, const char *, size_t, char *,
                           size_t);
static int set_egress(struct domain_reg *, const char *, size_t, char *,
                      size_t);
static int set_policy(struct domain_reg *, const char *, size_t, char *,
                      size_t);
static int set_contact(struct domain_reg *, const char *, size_t, char *,
                       size_t);
static int set_added(struct domain_reg *, const char *, size_t, char *, size_t);

/* The columns, in the order their values are applied. */
static const struct regimport_col_info {
	enum regimport_col col;
	const char *name;
	regimport_setter set;
} regimport_cols[] = {
    {REGIMPORT_DOMAIN, "domain", set_domain},
    {REGIMPORT_MAIL_FROM, "mail_from", set_mail_from},
    {REGIMPORT_SELECTORS, "selectors", set_selectors},
    {REGIMPORT_MX, "mx", set_mx},
    {REGIMPORT_SPF_INCLUDE, "spf_include", set_spf_include},
    {REGIMPORT_EGRESS_IPS, "egress_ips", set_egress},
    {REGIMPORT_DMARC_MIN_POLICY, "dmarc_min_policy", set_policy},
    {REGIMPORT_CONTACT, "contact", set_contact},
    {REGIMPORT_ADDED, "added", set_added},
};

static const struct {
	const char *name;
	int32_t policy;
} regimport_policies[] = {
    {"none", DMARC_POLICY_NONE},
    {"quarantine", DMARC_POLICY_QUARANTINE},
    {"reject", DMARC_POLICY_REJECT},
};

struct regimport_seen_slot {
	char *name; /* NULL: free */
	size_t line;
};

/* regimport_copy - text[0..len) NUL-terminated into dst; -1 when it does
 * not fit or holds a NUL. */
static int
regimport_copy(char *dst, size_t dstlen, const char *text, size_t len,
               char *why, size_t whylen)
{
	if (len > 0 && memchr(text, '\0', len) != NULL)
		return errbuf_fail(why, whylen, "contains a NUL byte");
	if (len >= dstlen)
		return errbuf_fail(why, whylen,
		                   "%zu bytes; at most %zu allowed", len,
		                   dstlen - 1);
	memcpy(dst, text, len);
	dst[len] = '\0';
	return 0;
}

/* regimport_name - a domain name into out; empty means none. */
static int
regimport_name(char *out, size_t outlen, const char *text, size_t len,
               char *why, size_t whylen)
{
	if (len == 0) {
		out[0] = '\0';
		return 0;
	}
	if (memchr(text, '\0', len) != NULL)
		return errbuf_fail(why, whylen, "contains a NUL byte");
	return domain_normalize(text, len, out, outlen, why, whylen);
}

static int
set_domain(struct domain_reg *reg, const char *text, size_t len, char *why,
           size_t whylen)
{
	if (len == 0)
		return errbuf_fail(why, whylen, "a domain is required");
	return regimport_name(reg->domain, sizeof(reg->domain), text, len, why,
	                      whylen);
}

static int
set_mx(struct domain_reg *reg, const char *text, size_t len, char *why,
       size_t whylen)
{
	return regimport_name(reg->mx_host, sizeof(reg->mx_host), text, len,
	                      why, whylen);
}

static int
set_spf_include(struct domain_reg *reg, const char *text, size_t len, char *why,
                size_t whylen)
{
	return regimport_name(reg->spf_include, sizeof(reg->spf_include), text,
	                      len, why, whylen);
}

/* set_mail_from - validate as the checks will resolve it; keep the form. */
static int
set_mail_from(struct domain_reg *reg, const char *text, size_t len, char *why,
              size_t whylen)
{
	char in[REGIMPORT_TEXT_MAX], full[DOMAIN_BUF];
	size_t dlen = strlen(reg->domain), flen;

	if (len == 0) {
		reg->mail_from[0] = '\0';
		return 0;
	}
	if (dlen == 0)
		return errbuf_fail(why, whylen,
		                   "the domain must be set before mail_from");
	if (regimport_copy(in, sizeof(in), text, len, why, whylen) != 0 ||
	    readiness_mail_from(reg->domain, in, full, sizeof(full), why,
	                        whylen) != 0)
		return -1;
	flen = strlen(full);
	if (memchr(in, '.', len) != NULL) {
		if (strchr(full, '.') == NULL)
			return errbuf_fail(
			    why, whylen,
			    "a single label ending in a dot names a top-level "
			    "domain; give the label alone or the full name");
		memcpy(reg->mail_from, full, flen + 1);
		return 0;
	}
	/* a label: keep it relative, in the normalized (A-label) form */
	if (flen <= dlen + 1 || full[flen - dlen - 1] != '.' ||
	    strcmp(full + flen - dlen, reg->domain) != 0)
		return errbuf_fail(why, whylen, "does not resolve below %s",
		                   reg->domain);
	memcpy(reg->mail_from, full, flen - dlen - 1);
	reg->mail_from[flen - dlen - 1] = '\0';
	return 0;
}

static int
set_selectors(struct domain_reg *reg, const char *text, size_t len, char *why,
              size_t whylen)
{
	if (len == 0) {
		reg->nselectors = 0;
		memset(reg->selectors, 0, sizeof(reg->selectors));
		return 0;
	}
	return regimport_parse_selectors(reg, text, len, why, whylen);
}

static int
set_egress(struct domain_reg *reg, const char *text, size_t len, char *why,
           size_t whylen)
{
	if (len == 0) {
		reg->negress = 0;
		memset(reg->egress, 0, sizeof(reg->egress));
		return 0;
	}
	return regimport_parse_egress(reg, text, len, why, whylen);
}

static int
set_policy(struct domain_reg *reg, const char *text, size_t len, char *why,
           size_t whylen)
{
	if (regimport_parse_policy(text, len, &reg->dmarc_min_policy) != 0)
		return errbuf_fail(
		    why, whylen,
		    "use none, quarantine or reject (or leave it empty for "
		    "the global default)");
	return 0;
}

static int
set_contact(struct domain_reg *reg, const char *text, size_t len, char *why,
            size_t whylen)
{
	char addr[DOMAIN_CONTACT_MAX];

	if (len == 0) {
		reg->contact[0] = '\0';
		return 0;
	}
	if (regimport_copy(addr, sizeof(addr), text, len, why, whylen) != 0)
		return -1;
	if (!address_plain_ok(addr))
		return errbuf_fail(
		    why, whylen,
		    "not a plain address local@domain (no spaces, control "
		    "characters, quotes, brackets, commas or semicolons)");
	memcpy(reg->contact, addr, len + 1);
	return 0;
}

/* set_added - the registration time; empty keeps "now". */
static int
set_added(struct domain_reg *reg, const char *text, size_t len, char *why,
          size_t whylen)
{
	if (len == 0)
		return 0;
	if (regimport_parse_time(text, len, &reg->added) != 0)
		return errbuf_fail(why, whylen,
		                   "not a time like 2026-12-05T12:30:04Z (UTC) "
		                   "or a number of seconds since 1970");
	return 0;
}

int
regimport_parse_time(const char *text, size_t len, int64_t *t)
{
	char buf[REGIMPORT_TIME_MAX], *end;
	struct tm tm;
	long long v;
	time_t tt;

	if (len == 0 || len >= sizeof(buf) || memchr(text, '\0', len) != NULL)
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (isdigit((unsigned char)buf[0]) || buf[0] == '-') {
		errno = 0;
		v = strtoll(buf, &end, 10);
		if (errno != 0 || *end != '\0' || end == buf ||
		    (buf[0] == '-' && end == buf + 1))
			goto iso;
		*t = (int64_t)v;
		return 0;
	}
iso:
	memset(&tm, 0, sizeof(tm));
	end = strptime(buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	if ((tt = timegm(&tm)) == (time_t)-1)
		return -1;
	*t = (int64_t)tt;
	return 0;
}

const char *
regimport_col_name(enum regimport_col col)
{
	size_t i;

	for (i = 0; i < NELEM(regimport_cols); i++)
		if (regimport_cols[i].col == col)
			return regimport_cols[i].name;
	return NULL;
}

/* regimport_col_find - the table entry for a header name; NULL unknown. */
static const struct regimport_col_info *
regimport_col_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NELEM(regimport_cols); i++)
		if (strlen(regimport_cols[i].name) == len &&
		    strncasecmp(regimport_cols[i].name, name, len) == 0)
			return &regimport_cols[i];
	return NULL;
}

/* regimport_known - "domain, mail_from, ..." for error messages. */
static void
regimport_known(char *out, size_t outlen)
{
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < NELEM(regimport_cols) && used < outlen; i++)
		used += (size_t)snprintf(out + used, outlen - used, "%s%s",
		                         i ? ", " : "", regimport_cols[i].name);
}

/* regimport_unknown - add 'name' to the list of unknown columns. */
static void
regimport_unknown(char *list, size_t listlen, const struct csv_field *f)
{
	char q[REGIMPORT_QUOTE_MAX];
	size_t used = strlen(list);

	if (used + 1 >= listlen)
		return;
	snprintf(list + used, listlen - used, "%s'%s'", used ? ", " : "",
	         text_quote(q, sizeof(q), f->value, f->len));
}

int
regimport_header(const struct csv_record *hdr, struct regimport_columns *cols,
                 char *err, size_t errlen)
{
	const struct regimport_col_info *c;
	char unknown[REGIMPORT_ERR_MAX / 2] = "", known[128];
	size_t i, nunknown = 0;

	for (i = 0; i < REGIMPORT_NCOLS; i++)
		cols->index[i] = -1;
	cols->nfields = hdr->nfields;
	for (i = 0; i < hdr->nfields; i++) {
		if (hdr->fields[i].len == 0)
			return errbuf_fail(
			    err, errlen,
			    "line %zu: header: column %zu has no name",
			    hdr->line, i + 1);
		c = regimport_col_find(hdr->fields[i].value,
		                       hdr->fields[i].len);
		if (c == NULL) {
			regimport_unknown(unknown, sizeof(unknown),
			                  &hdr->fields[i]);
			nunknown++;
		} else if (cols->index[c->col] >= 0)
			return errbuf_fail(
			    err, errlen,
			    "line %zu: header: column '%s' appears twice",
			    hdr->line, c->name);
		else
			cols->index[c->col] = (int)i;
	}
	regimport_known(known, sizeof(known));
	if (nunknown > 0)
		return errbuf_fail(
		    err, errlen,
		    "line %zu: header: unknown column%s %s (known: %s)",
		    hdr->line, nunknown > 1 ? "s" : "", unknown, known);
	if (cols->index[REGIMPORT_DOMAIN] < 0)
		return errbuf_fail(
		    err, errlen,
		    "line %zu: header: no 'domain' column (known: %s)",
		    hdr->line, known);
	return 0;
}

void
regimport_reg_init(struct domain_reg *reg, int64_t now)
{
	memset(reg, 0, sizeof(*reg));
	reg->dmarc_min_policy = DMARC_POLICY_UNSET;
	reg->added = now;
}

int
regimport_set(struct domain_reg *reg, enum regimport_col col, const char *text,
              size_t len, char *why, size_t whylen)
{
	size_t i;

	if (text == NULL)
		len = 0, text = "";
	for (i = 0; i < NELEM(regimport_cols); i++)
		if (regimport_cols[i].col == col)
			return regimport_cols[i].set(reg, text, len, why,
			                             whylen);
	return errbuf_fail(why, whylen, "no such column");
}

int
regimport_row(const struct regimport_columns *cols,
              const struct csv_record *row, int64_t now, struct domain_reg *out,
              char *err, size_t errlen)
{
	const struct csv_field *f;
	char why[REGIMPORT_ERR_MAX / 2], q[REGIMPORT_QUOTE_MAX];
	size_t i;
	int idx;

	if (row->nfields != cols->nfields)
		return errbuf_fail(err, errlen,
		                   "line %zu: %zu field%s; the header has %zu",
		                   row->line, row->nfields,
		                   row->nfields == 1 ? "" : "s", cols->nfields);
	regimport_reg_init(out, now);
	for (i = 0; i < NELEM(regimport_cols); i++) {
		idx = cols->index[regimport_cols[i].col];
		if (idx < 0)
			continue;
		if ((size_t)idx >= row->nfields)
			return errbuf_fail(err, errlen,
			                   "line %zu: no field for column '%s'",
			                   row->line, regimport_cols[i].name);
		f = &row->fields[idx];
		if (regimport_cols[i].set(out, f->value, f->len, why,
		                          sizeof(why)) == 0)
			continue;
		if (f->len == 0)
			return errbuf_fail(err, errlen, "line %zu: %s: %s",
			                   row->line, regimport_cols[i].name,
			                   why);
		return errbuf_fail(err, errlen, "line %zu: %s '%s': %s",
		                   row->line, regimport_cols[i].name,
		                   text_quote(q, sizeof(q), f->value, f->len),
		                   why);
	}
	return 0;
}

/* regimport_label_ok - one selector label: LDH or underscore, 1..63. */
static int
regimport_label_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > LABEL_MAX || p[0] == '-' || p[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!isalnum(c) && c != '-' && c != '_')
			return 0;
	}
	return 1;
}

int
regimport_selector_ok(const char *name, size_t len)
{
	const char *dot, *end = name + len;

	if (name == NULL || len == 0 || len >= DOMAIN_SELECTOR_MAX)
		return 0;
	for (;;) {
		dot = memchr(name, '.', (size_t)(end - name));
		if (!regimport_label_ok(name,
		                        (size_t)((dot ? dot : end) - name)))
			return 0;
		if (dot == NULL)
			return 1;
		name = dot + 1;
	}
}

/* regimport_key_ok - an absolute path of printable bytes that fits. */
static int
regimport_key_ok(const char *key, size_t len, char *why, size_t whylen)
{
	size_t i;

	if (len >= DOMAIN_KEY_PATH_MAX)
		return errbuf_fail(why, whylen,
		                   "key file is %zu bytes; at most %d allowed",
		                   len, DOMAIN_KEY_PATH_MAX - 1);
	if (key[0] != '/')
		return errbuf_fail(why, whylen,
		                   "key file is not an absolute path");
	for (i = 0; i < len; i++)
		if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f)
			return errbuf_fail(why, whylen,
			                   "key file contains a control byte");
	return 0;
}

int
regimport_add_selector(struct domain_reg *reg, const char *name, size_t namelen,
                       const char *key, size_t keylen, char *why, size_t whylen)
{
	char q[REGIMPORT_QUOTE_MAX], lower[DOMAIN_SELECTOR_MAX];
	struct domain_selector *s;
	size_t i, dlen = strlen(reg->domain);

	if (!regimport_selector_ok(name, namelen))
		return errbuf_fail(
		    why, whylen,
		    "selector '%s' is not a DNS name of letters, digits, "
		    "'-' and '_' (labels 1..63, at most %d octets)",
		    text_quote(q, sizeof(q), name, namelen),
		    DOMAIN_SELECTOR_MAX - 1);
	for (i = 0; i < namelen; i++)
		lower[i] = (char)text_lower((unsigned char)name[i]);
	lower[namelen] = '\0';
	if (dlen > 0 && namelen + REGIMPORT_DKIM_SUFFIX + dlen > DOMAIN_MAX)
		return errbuf_fail(
		    why, whylen,
		    "selector '%s' is too long for this domain: the DKIM "
		    "name would be longer than %d octets",
		    lower, DOMAIN_MAX);
	for (i = 0; i < reg->nselectors; i++)
		if (strcmp(reg->selectors[i].name, lower) == 0)
			return errbuf_fail(why, whylen,
			                   "selector '%s' given twice", lower);
	if (reg->nselectors >= DOMAIN_SELECTORS_MAX)
		return errbuf_fail(why, whylen, "more than %d selectors",
		                   DOMAIN_SELECTORS_MAX);
	if (key != NULL && keylen > 0 &&
	    regimport_key_ok(key, keylen, why, whylen) != 0)
		return -1;
	s = &reg->selectors[reg->nselectors];
	memset(s, 0, sizeof(*s));
	memcpy(s->name, lower, namelen + 1);
	if (key != NULL && keylen > 0)
		memcpy(s->key_path, key, keylen);
	reg->nselectors++;
	return 0;
}

/* regimport_is_space - a separator between selectors. */
static int
regimport_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* regimport_is_ip_sep - a separator between egress addresses. */
static int
regimport_is_ip_sep(char c)
{
	return regimport_is_space(c) || c == ';' || c == ',';
}

int
regimport_parse_selectors(struct domain_reg *reg, const char *text, size_t len,
                          char *why, size_t whylen)
{
	char q[REGIMPORT_QUOTE_MAX];
	size_t i = 0, start, n, keylen;
	const char *eq, *close, *key;

	for (;;) {
		while (i < len && regimport_is_space(text[i]))
			i++;
		if (i >= len)
			return 0;
		start = i;
		eq = NULL;
		while (i < len && !regimport_is_space(text[i])) {
			if (text[i] == '=' && eq == NULL)
				eq = text + i;
			else if (text[i] == '"' && eq == text + i - 1 &&
			         (close = memchr(text + i + 1, '"',
			                         len - i - 1)) != NULL)
				i = (size_t)(close - text); /* SEL="KEY" */
			i++;
		}
		n = i - start;
		if (eq == NULL) {
			if (regimport_add_selector(reg, text + start, n, NULL,
			                           0, why, whylen) != 0)
				return -1;
			continue;
		}
		if (eq == text + start + n - 1)
			return errbuf_fail(
			    why, whylen, "'%s' has '=' but no key file",
			    text_quote(q, sizeof(q), text + start, n));
		key = eq + 1;
		keylen = (size_t)(text + i - key);
		if (keylen >= 2 && key[0] == '"' && key[keylen - 1] == '"') {
			key++;
			keylen -= 2;
			if (keylen == 0)
				return errbuf_fail(
				    why, whylen, "'%s' has an empty key file",
				    text_quote(q, sizeof(q), text + start, n));
		}
		if (regimport_add_selector(reg, text + start,
		                           (size_t)(eq - (text + start)), key,
		                           keylen, why, whylen) != 0)
			return -1;
	}
}

/* regimport_add_egress - validate and append one address. */
static int
regimport_add_egress(struct domain_reg *reg, const char *text, size_t n,
                     char *why, size_t whylen)
{
	char q[REGIMPORT_QUOTE_MAX], ip[DOMAIN_IP_TEXT_MAX];
	struct netlist_entry e;
	size_t i;

	text_quote(q, sizeof(q), text, n);
	if (n >= sizeof(ip) || memchr(text, '\0', n) != NULL)
		return errbuf_fail(why, whylen,
		                   "'%s' is not an IPv4 or IPv6 address", q);
	memcpy(ip, text, n);
	ip[n] = '\0';
	if (netlist_addr_parse(ip, n, NETLIST_PREFIX | NETLIST_HOST_BITS, &e,
	                       NULL, 0) != 0)
		return errbuf_fail(
		    why, whylen,
		    "'%s' is not an IPv4 or IPv6 address (with an optional "
		    "/prefix)",
		    q);
	for (i = 0; i < reg->negress; i++)
		if (strcmp(reg->egress[i], ip) == 0)
			return errbuf_fail(why, whylen, "'%s' given twice", q);
	if (reg->negress >= DOMAIN_EGRESS_MAX)
		return errbuf_fail(why, whylen, "more than %d addresses",
		                   DOMAIN_EGRESS_MAX);
	memcpy(reg->egress[reg->negress++], ip, n + 1);
	return 0;
}

int
regimport_parse_egress(struct domain_reg *reg, const char *text, size_t len,
                       char *why, size_t whylen)
{
	size_t i = 0, start;

	for (;;) {
		while (i < len && regimport_is_ip_sep(text[i]))
			i++;
		if (i >= len)
			return 0;
		start = i;
		while (i < len && !regimport_is_ip_sep(text[i]))
			i++;
		if (regimport_add_egress(reg, text + start, i - start, why,
		                         whylen) != 0)
			return -1;
	}
}

int
regimport_parse_policy(const char *text, size_t len, int32_t *policy)
{
	size_t i;

	if (len == 0) {
		*policy = DMARC_POLICY_UNSET;
		return 0;
	}
	for (i = 0; i < NELEM(regimport_policies); i++)
		if (strlen(regimport_policies[i].name) == len &&
		    strncasecmp(regimport_policies[i].name, text, len) == 0) {
			*policy = regimport_policies[i].policy;
			return 0;
		}
	return -1;
}

/* regimport_too_long - the sentence for a name that cannot be published. */
static int
regimport_too_long(const char *record, const char *prefix, size_t n, char *why,
                   size_t whylen)
{
	return errbuf_fail(why, whylen,
	                   "the domain is too long: its %s name (%s and the "
	                   "domain) would be %zu octets, and a DNS name holds "
	                   "at most %d",
	                   record, prefix, n, DOMAIN_MAX);
}

int
regimport_names_ok(const char *domain, const char *mail_from,
                   const char *const *selectors, size_t nsel, char *why,
                   size_t whylen)
{
	char full[DOMAIN_BUF], prefix[DOMAIN_SELECTOR_MAX + 16];
	size_t i, dlen = strlen(domain), n;

	if (sizeof("_dmarc.") - 1 + dlen > DOMAIN_MAX)
		return regimport_too_long("DMARC record", "_dmarc.",
		                          sizeof("_dmarc.") - 1 + dlen, why,
		                          whylen);
	if (mail_from == NULL || mail_from[0] == '\0')
		mail_from = "mail";
	n = strlen(mail_from);
	if (strchr(mail_from, '.') == NULL && n + 1 + dlen > DOMAIN_MAX) {
		snprintf(prefix, sizeof(prefix), "%.*s.", LABEL_MAX, mail_from);
		return regimport_too_long("MAIL FROM", prefix, n + 1 + dlen,
		                          why, whylen);
	}
	if (readiness_mail_from(domain, mail_from, full, sizeof(full), why,
	                        whylen) != 0)
		return -1;
	for (i = 0; i < nsel; i++) {
		n = strlen(selectors[i]) + REGIMPORT_DKIM_SUFFIX + dlen;
		if (n <= DOMAIN_MAX)
			continue;
		snprintf(prefix, sizeof(prefix), "%.*s._domainkey.",
		         DOMAIN_SELECTOR_MAX - 1, selectors[i]);
		return regimport_too_long("DKIM key", prefix, n, why, whylen);
	}
	return 0;
}

/* regimport_str_ok - buf holds a NUL within its size. */
static int
regimport_str_ok(const char *buf, size_t size)
{
	return memchr(buf, '\0', size) != NULL;
}

/* regimport_host_ok - "" or a name in its normalized form. */
static int
regimport_host_ok(const char *what, const char *name, size_t size, char *why,
                  size_t whylen)
{
	char norm[DOMAIN_BUF], q[REGIMPORT_QUOTE_MAX];

	if (!regimport_str_ok(name, size))
		return errbuf_fail(why, whylen, "%s is not terminated", what);
	if (name[0] == '\0')
		return 0;
	if (domain_normalize(name, strlen(name), norm, sizeof(norm), why,
	                     whylen) != 0)
		return -1;
	if (strcmp(norm, name) != 0)
		return errbuf_fail(
		    why, whylen, "%s '%s' is not in its normalized form %s",
		    what, text_quote(q, sizeof(q), name, strlen(name)), norm);
	return 0;
}

/* regimport_validate_mail_from - the seed's rule: a subdomain, inside
 * the organizational domain, so SPF can align for DMARC. */
static int
regimport_validate_mail_from(const struct domain_reg *reg, const char *mf,
                             int defaulted, char *why, size_t whylen)
{
	char full[DOMAIN_BUF], org[DOMAIN_BUF];
	const char *from = defaulted ? " (MailFrom in authready.conf)" : "";

	if (readiness_mail_from(reg->domain, mf, full, sizeof(full), why,
	                        whylen) != 0)
		return -1;
	if (strcmp(full, reg->domain) == 0)
		return errbuf_fail(
		    why, whylen,
		    "the MAIL FROM name%s must be a subdomain "
		    "such as mail.%s; records on the bare domain "
		    "are not accepted",
		    from, reg->domain);
	if (domain_org(reg->domain, org, sizeof(org)) != 0)
		snprintf(org, sizeof(org), "%s", reg->domain);
	if (strcmp(full, org) == 0)
		return errbuf_fail(
		    why, whylen,
		    "the MAIL FROM name %s%s is the bare "
		    "organizational domain; use a subdomain such "
		    "as mail.%s",
		    full, from, reg->domain);
	if (!domain_is_below(full, org))
		return errbuf_fail(
		    why, whylen,
		    "the MAIL FROM name %s%s is outside %s, so SPF "
		    "could never align for DMARC; use a subdomain "
		    "such as mail.%s",
		    full, from, org, reg->domain);
	return 0;
}

/* regimport_validate_selectors - names, duplicates and key paths. */
static int
regimport_validate_selectors(const struct domain_reg *reg, char *why,
                             size_t whylen)
{
	char q[REGIMPORT_QUOTE_MAX];
	size_t i, j, n;

	if (reg->nselectors > DOMAIN_SELECTORS_MAX)
		return errbuf_fail(why, whylen, "more than %d selectors",
		                   DOMAIN_SELECTORS_MAX);
	for (i = 0; i < reg->nselectors; i++) {
		const struct domain_selector *s = &reg->selectors[i];

		if (!regimport_str_ok(s->name, sizeof(s->name)) ||
		    !regimport_str_ok(s->key_path, sizeof(s->key_path)))
			return errbuf_fail(why, whylen,
			                   "selector %zu is not terminated",
			                   i + 1);
		n = strlen(s->name);
		for (j = 0; j < n && !isupper((unsigned char)s->name[j]); j++)
			;
		if (!regimport_selector_ok(s->name, n) || j < n)
			return errbuf_fail(
			    why, whylen,
			    "selector '%s' is not a lowercase DNS name of "
			    "letters, digits, '-' and '_'",
			    text_quote(q, sizeof(q), s->name, n));
		for (j = 0; j < i; j++)
			if (strcmp(reg->selectors[j].name, s->name) == 0)
				return errbuf_fail(why, whylen,
				                   "selector '%s' given twice",
				                   s->name);
		if (s->key_path[0] != '\0' &&
		    regimport_key_ok(s->key_path, strlen(s->key_path), why,
		                     whylen) != 0)
			return -1;
	}
	return 0;
}

/* regimport_validate_egress - addresses, no duplicates. */
static int
regimport_validate_egress(const struct domain_reg *reg, char *why,
                          size_t whylen)
{
	char q[REGIMPORT_QUOTE_MAX];
	struct netlist_entry e;
	size_t i, j;

	if (reg->negress > DOMAIN_EGRESS_MAX)
		return errbuf_fail(why, whylen, "more than %d addresses",
		                   DOMAIN_EGRESS_MAX);
	for (i = 0; i < reg->negress; i++) {
		if (!regimport_str_ok(reg->egress[i], sizeof(reg->egress[i])) ||
		    netlist_addr_parse(reg->egress[i], strlen(reg->egress[i]),
		                       NETLIST_PREFIX | NETLIST_HOST_BITS, &e,
		                       NULL, 0) != 0)
			return errbuf_fail(
			    why, whylen,
			    "egress address '%s' is not an IPv4 or IPv6 "
			    "address",
			    text_quote(q, sizeof(q), reg->egress[i],
			               strnlen(reg->egress[i],
			                       sizeof(reg->egress[i]))));
		for (j = 0; j < i; j++)
			if (strcmp(reg->egress[j], reg->egress[i]) == 0)
				return errbuf_fail(
				    why, whylen,
				    "egress address '%s' given twice",
				    reg->egress[i]);
	}
	return 0;
}

int
regimport_validate(const struct domain_reg *reg,
                   const struct regimport_defaults *defs, char *why,
                   size_t whylen)
{
	const char *sels[DOMAIN_SELECTORS_MAX], *mf;
	size_t i, nsel = 0;
	int defaulted = reg->mail_from[0] == '\0';

	if (!regimport_str_ok(reg->domain, sizeof(reg->domain)) ||
	    reg->domain[0] == '\0')
		return errbuf_fail(why, whylen, "a domain is required");
	if (regimport_host_ok("domain", reg->domain, sizeof(reg->domain), why,
	                      whylen) != 0 ||
	    regimport_validate_selectors(reg, why, whylen) != 0)
		return -1;
	if (!regimport_str_ok(reg->mail_from, sizeof(reg->mail_from)))
		return errbuf_fail(why, whylen, "mail_from is not terminated");
	mf = reg->mail_from;
	if (defaulted)
		mf = defs != NULL && defs->mail_from != NULL &&
		             defs->mail_from[0] != '\0'
		         ? defs->mail_from
		         : "mail";
	for (i = 0; i < reg->nselectors; i++)
		sels[nsel++] = reg->selectors[i].name;
	if (nsel == 0 && defs != NULL && defs->selector != NULL &&
	    defs->selector[0] != '\0')
		sels[nsel++] = defs->selector;
	if (regimport_names_ok(reg->domain, mf, sels, nsel, why, whylen) ||
	    regimport_validate_mail_from(reg, mf, defaulted, why, whylen) ||
	    regimport_host_ok("mx", reg->mx_host, sizeof(reg->mx_host), why,
	                      whylen) != 0 ||
	    regimport_host_ok("spf_include", reg->spf_include,
	                      sizeof(reg->spf_include), why, whylen) != 0 ||
	    regimport_validate_egress(reg, why, whylen) != 0)
		return -1;
	if (reg->dmarc_min_policy < DMARC_POLICY_UNSET ||
	    reg->dmarc_min_policy > DMARC_POLICY_REJECT)
		return errbuf_fail(
		    why, whylen,
		    "dmarc_min_policy %d is not none, quarantine "
		    "or reject",
		    (int)reg->dmarc_min_policy);
	if (!regimport_str_ok(reg->contact, sizeof(reg->contact)) ||
	    (reg->contact[0] != '\0' && !address_plain_ok(reg->contact)))
		return errbuf_fail(
		    why, whylen,
		    "the contact is not a plain address local@domain (no "
		    "spaces, control characters, quotes, brackets, commas or "
		    "semicolons)");
	return 0;
}

void
regimport_seen_init(struct regimport_seen *seen)
{
	seen->slots = NULL;
	seen->cap = 0;
	seen->count = 0;
}

void
regimport_seen_free(struct regimport_seen *seen)
{
	size_t i;

	for (i = 0; i < seen->cap; i++)
		free(seen->slots[i].name);
	free(seen->slots);
	regimport_seen_init(seen);
}

/* regimport_hash - FNV-1a of a NUL-terminated name. */
static size_t
regimport_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

/* regimport_seen_slot - the slot holding name, or the free one for it. */
static struct regimport_seen_slot *
regimport_seen_slot(const struct regimport_seen *seen, const char *name)
{
	size_t i = regimport_hash(name) & (seen->cap - 1);

	while (seen->slots[i].name != NULL &&
	       strcmp(seen->slots[i].name, name) != 0)
		i = (i + 1) & (seen->cap - 1);
	return &seen->slots[i];
}

/* regimport_seen_grow - double the table (cap stays a power of two). */
static int
regimport_seen_grow(struct regimport_seen *seen)
{
	struct regimport_seen old = *seen;
	size_t i, cap = old.cap ? old.cap * 2 : 64;

	seen->slots = calloc(cap, sizeof(*seen->slots));
	if (seen->slots == NULL) {
		*seen = old;
		return -1;
	}
	seen->cap = cap;
	for (i = 0; i < old.cap; i++)
		if (old.slots[i].name != NULL)
			*regimport_seen_slot(seen, old.slots[i].name) =
			    old.slots[i];
	free(old.slots);
	return 0;
}

int
regimport_seen_add(struct regimport_seen *seen, const char *domain, size_t line,
                   char *err, size_t errlen)
{
	struct regimport_seen_slot *slot;
	char q[REGIMPORT_QUOTE_MAX];

	if (seen->count >= REGIMPORT_SEEN_MAX)
		return errbuf_fail(err, errlen,
		                   "line %zu: more than %d domains in one file",
		                   line, REGIMPORT_SEEN_MAX);
	if ((seen->count + 1) * 2 > seen->cap && regimport_seen_grow(seen) != 0)
		return errbuf_fail(err, errlen, "line %zu: out of memory",
		                   line);
	slot = regimport_seen_slot(seen, domain);
	if (slot->name != NULL)
		return errbuf_fail(
		    err, errlen,
		    "line %zu: domain %s already given on line %zu", line,
		    text_quote(q, sizeof(q), domain, strlen(domain)),
		    slot->line);
	slot->name = strdup(domain);
	if (slot->name == NULL)
		return errbuf_fail(err, errlen, "line %zu: out of memory",
		                   line);
	slot->line = line;
	seen->count++;
	return 0;
}
