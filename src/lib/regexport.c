/*
 * regexport.c - registry entries as CSV that `domain import` reads back.
 *
 * SYNOPSIS
 *	int regexport_header(buf, len, outlen);
 *	int regexport_row(reg, buf, len, outlen, why, whylen);
 *
 * DESCRIPTION
 *	The columns are regimport's (regimport_col_name), in its order; the
 *	table below holds one formatter per column, so a column added to
 *	the import without an exporter fails the round-trip test instead of
 *	vanishing from backups.  Each formatter writes the raw value; csv_put
 *	quotes it when the reader would otherwise trim or split it.
 *
 * DIAGNOSTICS
 *	See regexport.h.
 */
#include "regexport.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dmarc.h"
#include "errbuf.h"
#include "regimport.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define REGEXPORT_VALUE_MAX 8192           /* one raw value, before quoting */
#define REGEXPORT_TIME_LAST 253402300799LL /* 9999-12-31T23:59:59Z */

/* A growing output line with an overflow flag. */
struct out {
	char *buf;
	size_t len, used;
	int full;
};

/* out_add - append n bytes. */
static void
out_add(struct out *o, const char *s, size_t n)
{
	if (o->full || o->used + n >= o->len) {
		o->full = 1;
		return;
	}
	memcpy(o->buf + o->used, s, n);
	o->used += n;
	o->buf[o->used] = '\0';
}

/* out_printf - append a formatted string. */
static void __attribute__((format(printf, 2, 3)))
out_printf(struct out *o, const char *fmt, ...)
{
	char tmp[REGEXPORT_VALUE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		o->full = 1;
		return;
	}
	out_add(o, tmp, (size_t)n);
}

typedef int (*regexport_fmt)(const struct domain_reg *, struct out *, char *,
                             size_t);

static int
fmt_domain(const struct domain_reg *reg, struct out *o, char *why,
           size_t whylen)
{
	(void)why, (void)whylen;
	out_printf(o, "%s", reg->domain);
	return 0;
}

static int
fmt_mail_from(const struct domain_reg *reg, struct out *o, char *why,
              size_t whylen)
{
	(void)why, (void)whylen;
	out_printf(o, "%s", reg->mail_from);
	return 0;
}

/* fmt_selectors - SEL, SEL=KEY or SEL="KEY WITH SPACES". */
static int
fmt_selectors(const struct domain_reg *reg, struct out *o, char *why,
              size_t whylen)
{
	for (uint32_t i = 0; i < reg->nselectors && i < DOMAIN_SELECTORS_MAX;
	     i++) {
		const struct domain_selector *s = &reg->selectors[i];
		int spaced = strchr(s->key_path, ' ') != NULL;

		if (spaced && strchr(s->key_path, '"') != NULL)
			return errbuf_fail(
			    why, whylen,
			    "selector %s: key file holds both a space and a "
			    "quote, which the selectors column cannot carry",
			    s->name);
		out_printf(o, "%s%s", i ? " " : "", s->name);
		if (s->key_path[0] != '\0')
			out_printf(o, spaced ? "=\"%s\"" : "=%s", s->key_path);
	}
	return 0;
}

static int
fmt_mx(const struct domain_reg *reg, struct out *o, char *why, size_t whylen)
{
	(void)why, (void)whylen;
	out_printf(o, "%s", reg->mx_host);
	return 0;
}

static int
fmt_spf_include(const struct domain_reg *reg, struct out *o, char *why,
                size_t whylen)
{
	(void)why, (void)whylen;
	out_printf(o, "%s", reg->spf_include);
	return 0;
}

static int
fmt_egress(const struct domain_reg *reg, struct out *o, char *why,
           size_t whylen)
{
	(void)why, (void)whylen;
	for (uint32_t i = 0; i < reg->negress && i < DOMAIN_EGRESS_MAX; i++)
		out_printf(o, "%s%s", i ? " " : "", reg->egress[i]);
	return 0;
}

static int
fmt_policy(const struct domain_reg *reg, struct out *o, char *why,
           size_t whylen)
{
	(void)why, (void)whylen;
	if (reg->dmarc_min_policy != DMARC_POLICY_UNSET)
		out_printf(o, "%s",
		           dmarc_policy_name(
		               (enum dmarc_policy)reg->dmarc_min_policy));
	return 0;
}

static int
fmt_contact(const struct domain_reg *reg, struct out *o, char *why,
            size_t whylen)
{
	(void)why, (void)whylen;
	out_printf(o, "%s", reg->contact);
	return 0;
}

/* fmt_added - UTC time; plain seconds outside years 1970..9999. */
static int
fmt_added(const struct domain_reg *reg, struct out *o, char *why, size_t whylen)
{
	time_t t = (time_t)reg->added;
	struct tm tm;
	char buf[32];

	(void)why, (void)whylen;
	if (reg->added <= 0 || reg->added > REGEXPORT_TIME_LAST ||
	    gmtime_r(&t, &tm) == NULL) {
		out_printf(o, "%lld", (long long)reg->added);
		return 0;
	}
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	out_printf(o, "%s", buf);
	return 0;
}

/* The formatter of every import column. */
static const struct {
	enum regimport_col col;
	regexport_fmt fmt;
} regexport_cols[] = {
    {REGIMPORT_DOMAIN, fmt_domain},
    {REGIMPORT_MAIL_FROM, fmt_mail_from},
    {REGIMPORT_SELECTORS, fmt_selectors},
    {REGIMPORT_MX, fmt_mx},
    {REGIMPORT_SPF_INCLUDE, fmt_spf_include},
    {REGIMPORT_EGRESS_IPS, fmt_egress},
    {REGIMPORT_DMARC_MIN_POLICY, fmt_policy},
    {REGIMPORT_CONTACT, fmt_contact},
    {REGIMPORT_ADDED, fmt_added},
};

/* csv_put - one field, quoted when the reader would trim or split it. */
static void
csv_put(struct out *o, const char *v, size_t n)
{
	if (strcspn(v, ",\" \t") == n) {
		out_add(o, v, n);
		return;
	}
	out_add(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		out_add(o, v + i, 1);
		if (v[i] == '"')
			out_add(o, "\"", 1); /* doubled */
	}
	out_add(o, "\"", 1);
}

int
regexport_header(char *buf, size_t len, size_t *outlen)
{
	struct out o = {.buf = buf, .len = len};

	if (len > 0)
		buf[0] = '\0';
	for (size_t i = 0; i < NELEM(regexport_cols); i++)
		out_printf(&o, "%s%s", i ? "," : "",
		           regimport_col_name(regexport_cols[i].col));
	out_add(&o, "\n", 1);
	*outlen = o.used;
	return o.full ? -1 : 0;
}

int
regexport_row(const struct domain_reg *reg, char *buf, size_t len,
              size_t *outlen, char *why, size_t whylen)
{
	char value[REGEXPORT_VALUE_MAX];
	struct out o = {.buf = buf, .len = len};
	struct out v;

	if (len > 0)
		buf[0] = '\0';
	*outlen = 0;
	for (size_t i = 0; i < NELEM(regexport_cols); i++) {
		v = (struct out){.buf = value, .len = sizeof(value)};
		value[0] = '\0';
		if (regexport_cols[i].fmt(reg, &v, why, whylen) != 0)
			return -1;
		if (v.full)
			return errbuf_fail(
			    why, whylen, "%s: value too long",
			    regimport_col_name(regexport_cols[i].col));
		if (i > 0)
			out_add(&o, ",", 1);
		csv_put(&o, value, v.used);
	}
	out_add(&o, "\n", 1);
	if (o.full)
		return errbuf_fail(why, whylen, "line too long");
	*outlen = o.used;
	return 0;
}
