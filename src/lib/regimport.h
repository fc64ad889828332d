/*
 * regimport.h - registry entries from CSV rows and from command options.
 *
 * SYNOPSIS
 *	#include "regimport.h"
 *
 *	The functions: see regimport.c.
 *
 * DESCRIPTION
 *	`authready domain import FILE` reads a CSV file whose header names the
 *	columns (case-insensitive, any order): domain (required), mail_from,
 *	selectors, mx, spf_include, egress_ips, dmarc_min_policy, contact,
 *	added (the registration time, so an export reads back exactly).
 *	regimport_header() maps the header, regimport_row() turns one row into
 *	a struct domain_reg, validating every value; an empty optional value
 *	means the global default.  regimport_set() validates one value and is
 *	shared with `authready domain add`.  regimport_validate() judges a
 *	whole entry before it is stored, for every way in.  regimport_seen_add()
 *	detects a domain given twice in one file.  Errors are sentences for the
 *	operator: "line 7: mx 'a..b': name has an empty label".
 */
#ifndef AUTHREADY_REGIMPORT_H
#define AUTHREADY_REGIMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "csv.h"
#include "domain.h"

#define REGIMPORT_ERR_MAX 512      /* holds any error sentence */
#define REGIMPORT_SEEN_MAX 1000000 /* domains in one import */

enum regimport_col {
	REGIMPORT_DOMAIN = 0,
	REGIMPORT_MAIL_FROM,
	REGIMPORT_SELECTORS,
	REGIMPORT_MX,
	REGIMPORT_SPF_INCLUDE,
	REGIMPORT_EGRESS_IPS,
	REGIMPORT_DMARC_MIN_POLICY,
	REGIMPORT_CONTACT,
	REGIMPORT_ADDED,
	REGIMPORT_NCOLS
};

struct regimport_columns {
	int index[REGIMPORT_NCOLS]; /* field of each column; -1 absent */
	size_t nfields;             /* fields in the header */
};

/* A set of the domains read so far and the line of each. */
struct regimport_seen {
	struct regimport_seen_slot *slots;
	size_t cap, count;
};

/* regimport_col_name - "domain", "mail_from", ...; NULL when out of range. */
const char *regimport_col_name(enum regimport_col col);

/* regimport_header - map the header; 0 ok, -1 with err. */
int regimport_header(const struct csv_record *hdr,
                     struct regimport_columns *cols, char *err, size_t errlen);

/* regimport_row - one row into out (added = now); 0 ok, -1 with err. */
int regimport_row(const struct regimport_columns *cols,
                  const struct csv_record *row, int64_t now,
                  struct domain_reg *out, char *err, size_t errlen);

/* regimport_reg_init - an entry with every optional value at its default. */
void regimport_reg_init(struct domain_reg *reg, int64_t now);

/*
 * regimport_set - validate text[0..len) and store it as column col of reg;
 * empty text restores the default (the domain cannot be empty).  The
 * domain must be set before mail_from.  Selectors and egress addresses
 * are added to those already in reg.  0 ok; -1 with the reason in why,
 * without the column name or the value.
 */
int regimport_set(struct domain_reg *reg, enum regimport_col col,
                  const char *text, size_t len, char *why, size_t whylen);

/* regimport_selector_ok - a DKIM selector: dot-separated labels of
 * letters, digits, hyphen, underscore; at most DOMAIN_SELECTOR_MAX - 1. */
int regimport_selector_ok(const char *name, size_t len);

/*
 * regimport_add_selector - append one selector (lowercased) with an
 * optional key file (an absolute path; NULL or empty for none); 0 ok, -1
 * with why when invalid, a duplicate, or one too many.
 */
int regimport_add_selector(struct domain_reg *reg, const char *name,
                           size_t namelen, const char *key, size_t keylen,
                           char *why, size_t whylen);

/* regimport_parse_selectors - "SEL SEL=/path/key.pem ..." appended; a
 * key file with spaces is quoted: SEL="/path/my key.pem". */
int regimport_parse_selectors(struct domain_reg *reg, const char *text,
                              size_t len, char *why, size_t whylen);

/* regimport_parse_egress - addresses separated by spaces, ';' or ','. */
int regimport_parse_egress(struct domain_reg *reg, const char *text, size_t len,
                           char *why, size_t whylen);

/* regimport_parse_policy - none|quarantine|reject (any case), or empty
 * for -1 (the global default); 0 ok, -1 bad. */
int regimport_parse_policy(const char *text, size_t len, int32_t *policy);

/* regimport_parse_time - "2026-12-05T12:30:04Z" (UTC) or a number of
 * seconds since 1970 (what `domain export` writes); 0 ok, -1 bad. */
int regimport_parse_time(const char *text, size_t len, int64_t *t);

/* The global values an entry falls back to (authready.conf). */
struct regimport_defaults {
	const char *mail_from; /* MailFrom; NULL or "" for "mail" */
	const char *selector;  /* Selector; NULL or "" for none */
};

/*
 * regimport_names_ok - the names domain must publish fit in DNS (253
 * octets, labels of 63): _dmarc.DOMAIN, the MAIL FROM name that
 * mail_from (a label or a full name, NULL for "mail") gives, and
 * SEL._domainkey.DOMAIN for each of the nsel selectors.  It does not
 * judge whether the MAIL FROM name is acceptable (the checks say that).
 * 0 ok; -1 with one sentence in why.
 */
int regimport_names_ok(const char *domain, const char *mail_from,
                       const char *const *selectors, size_t nsel, char *why,
                       size_t whylen);

/*
 * regimport_validate - the one judgement of a registry entry, whichever
 * way it came in (domain add, domain import, an API): every stored value
 * is well formed, the MAIL FROM name (the entry's, else defs->mail_from)
 * is a subdomain of the domain inside its organizational domain, and
 * every name to publish fits (regimport_names_ok, with defs->selector
 * when the entry has no selector).  Pure: key files are judged by their
 * path; whether one holds a usable key is for the caller to read.  defs
 * may be NULL.  0 ok; -1 with one sentence in why.
 */
int regimport_validate(const struct domain_reg *reg,
                       const struct regimport_defaults *defs, char *why,
                       size_t whylen);

void regimport_seen_init(struct regimport_seen *seen);
void regimport_seen_free(struct regimport_seen *seen);

/*
 * regimport_seen_add - remember domain as read on line; 0 when new; -1
 * with err ("line 9: domain example.com already given on line 4") when
 * it was seen before, or when memory or REGIMPORT_SEEN_MAX runs out.
 */
int regimport_seen_add(struct regimport_seen *seen, const char *domain,
                       size_t line, char *err, size_t errlen);

#endif
