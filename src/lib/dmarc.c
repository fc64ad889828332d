/*
 * dmarc.c - DMARC record parsing, selection and policy discovery
 * (RFC 9989).
 *
 * SYNOPSIS
 *	int dmarc_parse(const unsigned char *rec, size_t len,
 *	    struct dmarc_record *out, char *err, size_t errlen);
 *	enum dmarc_selection dmarc_select(const struct dns_answer *ans,
 *	    size_t *index);
 *	int dmarc_policy_parse(const char *text, enum dmarc_policy *out);
 *	const char *dmarc_policy_name(enum dmarc_policy p);
 *	bool dmarc_test_mode(const struct dmarc_record *r);
 *	enum dmarc_policy dmarc_enforced(const struct dmarc_record *r,
 *	    enum dmarc_policy stated);
 *	bool dmarc_needs_org(const char *domain, const char *org,
 *	    const struct dns_answer *at_domain);
 *	void dmarc_evaluate(const char *domain, const char *org,
 *	    const struct dns_answer *at_domain,
 *	    const struct dns_answer *at_org, enum dmarc_policy min_policy,
 *	    struct check_result *res);
 *	void dmarc_judge(domain, found, at_domain, at_found, min_policy,
 *	    ctx, res, rec);
 *	size_t dmarc_walk_names(const char *domain,
 *	    char names[][DMARC_NAME_MAX], size_t max);
 *	int dmarc_walk_init(struct dmarc_walk *w, const char *domain);
 *	const char *dmarc_walk_next(const struct dmarc_walk *w);
 *	bool dmarc_walk_take(struct dmarc_walk *w,
 *	    const struct dns_answer *ans);
 *	void dmarc_walk_org(const struct dmarc_walk *w, char *out,
 *	    size_t outlen);
 *
 * DESCRIPTION
 *	dmarc_parse() follows the grammar of RFC 9989: tag=value pairs split
 *	by ';' with optional blanks (space, tab) around '=' and ';'.  The
 *	first tag must be v=DMARC1; the tag name is matched without regard
 *	to case and the value exactly, as the ABNF's %x-literal demands.
 *	Keyword values (none, r, ...) are ABNF quoted strings and so match
 *	without regard to case (RFC 5234 section 2.3).  p may come anywhere
 *	after v.  Unknown tags are ignored; empty segments (";;", a trailing
 *	';') are skipped.
 *
 *	A record is judged the way receivers will use it.  What they still
 *	apply is read as they read it, and each such leniency is one
 *	sentence with its fix in r->warn: no p but a valid rua is p=none; a
 *	bad adkim or aspf is r; an unusable report URI is dropped, not the
 *	record; pct, rf and ri, gone from the standard, are valid whatever
 *	their values (pct=0 still means test mode, as t=y).  What receivers
 *	discard is an error: no v=DMARC1 first, a bad p, sp, np, fo, psd or
 *	t, a known tag given twice, no p and no valid rua, control or
 *	non-ASCII bytes.
 *
 *	dmarc_select() applies the record-selection rule to one answer: TXT
 *	records that do not start with the v=DMARC1 tag are discarded, and
 *	more than one remaining record means no policy at all.
 *
 *	dmarc_judge() judges the record discovery found for DOMAIN, at the
 *	domain itself (p) or at a parent (sp, else p), against a minimum
 *	on the policy receivers enforce (t=y and pct=0 lower it one step),
 *	and says what the alignment modes allow for the operator's MAIL
 *	FROM (aspf=s, adkim=s).  dmarc_evaluate() is dmarc_judge() without
 *	a context.
 *
 *	dmarc_walk_*() is the DNS tree walk of RFC 9989 section 4.10: the
 *	domain, then (for eight labels or more) its last seven, then one
 *	label less each time down to the top-level domain, at most eight
 *	queries.  The first name with a record holds the policy; the walk
 *	goes on only as far as the organizational domain needs (a psd=n
 *	record, a psd=y record, or the top), and dmarc_walk_org() picks it:
 *	psd=n names itself, psd=y the name one label below, else the
 *	shortest name with a valid record, else the domain.  No public
 *	suffix list is used.
 *
 * DIAGNOSTICS
 *	dmarc_parse() returns -1 with one sentence in err that names the
 *	tag and its (sanitized, shortened) value.  dmarc_evaluate() never
 *	fails; DNS trouble becomes a temperror result.
 */
#include "dmarc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dnsmsg.h"
#include "errbuf.h"
#include "report.h"
#include "sanitize.h"
#include "text.h"

#define DMARC_VERSION "DMARC1"
#define DMARC_PREFIX "_dmarc."
#define DMARC_ERR_VALUE_MAX 64 /* value quoted in an error, sanitized */
#define DMARC_PCT_DIGITS_MAX 3 /* RFC 7489: 1*3DIGIT */
#define DMARC_RI_MAX 4294967295UL
#define DMARC_DEFAULT_RI 86400UL
#define DMARC_DEFAULT_PCT 100U

/* A byte range of the record; never NUL-terminated. */
struct span {
	const unsigned char *p;
	size_t n;
};

typedef int (*dmarc_tag_fn)(struct span v, struct dmarc_record *r,
                            const char **why);

/* A tag function returns 0, -1 (the record is unusable) or 1 (read
 * leniently, as receivers do: *why is the warning and its fix). */
struct dmarc_tag {
	const char *name;
	dmarc_tag_fn fn;
	bool lenient; /* empty values and repeats are warnings, not errors */
};

static const struct dmarc_policy_name {
	const char *name;
	enum dmarc_policy policy;
} dmarc_policy_names[] = {
    {"none", DMARC_POLICY_NONE},
    {"quarantine", DMARC_POLICY_QUARANTINE},
    {"reject", DMARC_POLICY_REJECT},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* is_wsp - the WSP of RFC 5234: space or tab. */
static bool
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* in_set - c is one of the bytes of set (never the terminating NUL). */
static bool
in_set(unsigned char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* span_trim - drop leading and trailing WSP. */
static struct span
span_trim(struct span s)
{
	while (s.n > 0 && is_wsp(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && is_wsp(s.p[s.n - 1]))
		s.n--;
	return s;
}

/* span_eq - exact comparison with a C string keyword, ignoring case. */
static bool
span_eq(struct span s, const char *word)
{
	size_t i, n = strlen(word);

	if (s.n != n)
		return false;
	for (i = 0; i < n; i++)
		if (text_lower(s.p[i]) != text_lower((unsigned char)word[i]))
			return false;
	return true;
}

/* span_next - the piece of *rest up to sep (or the end); consumes it. */
static bool
span_next(struct span *rest, unsigned char sep, struct span *piece, bool *done)
{
	const unsigned char *q;

	if (*done)
		return false;
	q = rest->n > 0 ? memchr(rest->p, sep, rest->n) : NULL;
	piece->p = rest->p;
	if (q == NULL) {
		piece->n = rest->n;
		rest->p += rest->n;
		rest->n = 0;
		*done = true;
	} else {
		piece->n = (size_t)(q - rest->p);
		rest->p = q + 1;
		rest->n -= piece->n + 1;
	}
	return true;
}

/* policy_from_span - map a keyword to a policy; -1 when unknown. */
static int
policy_from_span(struct span s, enum dmarc_policy *out)
{
	size_t i;

	for (i = 0; i < NELEM(dmarc_policy_names); i++) {
		if (span_eq(s, dmarc_policy_names[i].name)) {
			*out = dmarc_policy_names[i].policy;
			return 0;
		}
	}
	return -1;
}

int
dmarc_policy_parse(const char *text, enum dmarc_policy *out)
{
	struct span s;

	if (text == NULL)
		return -1;
	s.p = (const unsigned char *)text;
	s.n = strlen(text);
	return policy_from_span(s, out);
}

const char *
dmarc_policy_name(enum dmarc_policy p)
{
	size_t i;

	for (i = 0; i < NELEM(dmarc_policy_names); i++)
		if (dmarc_policy_names[i].policy == p)
			return dmarc_policy_names[i].name;
	return "unset";
}

/* tag_policy - none, quarantine or reject. */
static int
tag_policy(struct span v, enum dmarc_policy *out, const char **why)
{
	if (policy_from_span(v, out) < 0) {
		*why = "the policy must be none, quarantine or reject";
		return -1;
	}
	return 0;
}

/* tag_p - the domain's policy. */
static int
tag_p(struct span v, struct dmarc_record *r, const char **why)
{
	if (tag_policy(v, &r->p, why) == 0)
		return 0;
	*why = "the policy must be none, quarantine or reject (receivers "
	       "fall back to p=none only when rua is valid, RFC 7489 6.6.3)";
	return -1;
}

/* tag_sp - the policy for subdomains. */
static int
tag_sp(struct span v, struct dmarc_record *r, const char **why)
{
	return tag_policy(v, &r->sp, why);
}

/* tag_np - the policy for non-existent subdomains (RFC 9989). */
static int
tag_np(struct span v, struct dmarc_record *r, const char **why)
{
	return tag_policy(v, &r->np, why);
}

/* tag_letter - one of the letters in set (case-insensitive) into *out. */
static int
tag_letter(struct span v, const char *set, char *out, const char **why,
           const char *what)
{
	if (v.n != 1 || !in_set(text_lower(v.p[0]), set)) {
		*why = what;
		return -1;
	}
	*out = (char)text_lower(v.p[0]);
	return 0;
}

/* tag_align - an alignment mode; receivers read a bad one as r. */
static int
tag_align(struct span v, char *out, const char **why)
{
	if (tag_letter(v, "rs", out, why, "") == 0)
		return 0;
	*out = 'r';
	*why = "not r or s, so receivers use r (relaxed); publish r or s";
	return 1;
}

/* tag_adkim - DKIM alignment mode. */
static int
tag_adkim(struct span v, struct dmarc_record *r, const char **why)
{
	return tag_align(v, &r->adkim, why);
}

/* tag_aspf - SPF alignment mode. */
static int
tag_aspf(struct span v, struct dmarc_record *r, const char **why)
{
	return tag_align(v, &r->aspf, why);
}

/* tag_psd - public suffix domain flag (RFC 9989). */
static int
tag_psd(struct span v, struct dmarc_record *r, const char **why)
{
	return tag_letter(v, "ynu", &r->psd, why, "psd must be y, n or u");
}

/* tag_t - test mode flag (RFC 9989). */
static int
tag_t(struct span v, struct dmarc_record *r, const char **why)
{
	return tag_letter(v, "yn", &r->t, why, "t must be y or n");
}

/*
 * tag_pct - removed by RFC 9989: any value is valid, with a warning.  A
 * readable 0..100 (1*3DIGIT) is kept, because pct=0 still asks receivers
 * not to apply the policy (RFC 9989 reads it as t=y).
 */
static int
tag_pct(struct span v, struct dmarc_record *r, const char **why)
{
	unsigned val = 0;
	size_t i;

	for (i = 0; i < v.n; i++) {
		if (!text_is_digit(v.p[i]) || i >= DMARC_PCT_DIGITS_MAX)
			break;
		val = val * 10 + (unsigned)(v.p[i] - '0');
	}
	if (v.n > 0 && i == v.n && val <= 100)
		r->pct = val;
	*why = r->pct == 0 && v.n > 0 && i == v.n
	           ? "pct is gone from DMARC (RFC 9989) and pct=0 is read as "
	             "t=y, test mode: receivers do not apply the policy; "
	             "remove pct, and use t=y only while testing"
	           : "pct is gone from DMARC (RFC 9989) and receivers ignore "
	             "it; remove it (use t=y for a test phase)";
	return 1;
}

/* tag_ri - removed by RFC 9989 (reports: RFC 9990): a warning. */
static int
tag_ri(struct span v, struct dmarc_record *r, const char **why)
{
	unsigned long val = 0;
	size_t i;

	for (i = 0; i < v.n; i++) {
		unsigned d = (unsigned)(v.p[i] - '0');

		if (!text_is_digit(v.p[i]) || val > (DMARC_RI_MAX - d) / 10)
			break;
		val = val * 10 + d;
	}
	if (v.n > 0 && i == v.n)
		r->ri = val;
	*why = "ri is gone from DMARC (RFC 9989): receivers send aggregate "
	       "reports daily whatever it says; remove it";
	return 1;
}

/* tag_fo - colon list of 0, 1, d, s; stored once each, in order. */
static int
tag_fo(struct span v, struct dmarc_record *r, const char **why)
{
	struct span rest = v, opt;
	bool done = false;
	char fo[sizeof(r->fo)] = "";
	size_t used = 0;

	while (span_next(&rest, ':', &opt, &done)) {
		char c;

		opt = span_trim(opt);
		if (opt.n != 1 || !in_set(text_lower(opt.p[0]), "01ds")) {
			*why = "fo must be a colon-separated list of 0, 1, d "
			       "and s";
			return -1;
		}
		c = (char)text_lower(opt.p[0]);
		if (strchr(fo, c) != NULL)
			continue;
		if (used > 0)
			fo[used++] = ':';
		fo[used++] = c;
		fo[used] = '\0';
	}
	memcpy(r->fo, fo, sizeof(r->fo));
	return 0;
}

/* tag_rf - removed by RFC 9989 (failure reports: RFC 9991): a warning. */
static int
tag_rf(struct span v, struct dmarc_record *r, const char **why)
{
	(void)v;
	(void)r;
	*why = "rf is gone from DMARC (RFC 9989) and receivers ignore it; "
	       "remove it";
	return 1;
}

/* uri_size_ok - the "!" size limit: 1*DIGIT [ k / m / g / t ]. */
static bool
uri_size_ok(struct span s)
{
	size_t i = 0;

	while (i < s.n && text_is_digit(s.p[i]))
		i++;
	if (i == 0)
		return false;
	if (i < s.n && in_set(text_lower(s.p[i]), "kmgt"))
		i++;
	return i == s.n;
}

/* uri_char_ok - a URI character (RFC 3986) other than ',' and ';'. */
static bool
uri_char_ok(unsigned char c)
{
	return text_is_alpha(c) || text_is_digit(c) ||
	       in_set(c, "-._~:/?#[]@!$&'()*+=%");
}

/* is_hex - ASCII hex digit. */
static bool
is_hex(unsigned char c)
{
	return text_is_digit(c) || in_set(text_lower(c), "abcdef");
}

/* uri_rest_ok - the part after "scheme:", with valid %-escapes. */
static int
uri_rest_ok(struct span s, const char **why)
{
	size_t i;

	if (s.n == 0) {
		*why = "a report URI has nothing after its scheme";
		return -1;
	}
	for (i = 0; i < s.n; i++) {
		if (!uri_char_ok(s.p[i])) {
			*why = "a report URI holds a character that must be "
			       "percent-encoded (such as a space, ',' or ';')";
			return -1;
		}
		if (s.p[i] != '%')
			continue;
		if (s.n - i < 3 || !is_hex(s.p[i + 1]) || !is_hex(s.p[i + 2])) {
			*why = "a report URI has a '%' not followed by two hex "
			       "digits";
			return -1;
		}
		i += 2;
	}
	return 0;
}

/* mailto_ok - a mailto: URI names an address with a local part and '@'. */
static int
mailto_ok(struct span s, const char **why)
{
	const unsigned char *q = memchr(s.p, '?', s.n);
	const unsigned char *at;
	size_t n = q ? (size_t)(q - s.p) : s.n;

	at = n > 0 ? memchr(s.p, '@', n) : NULL;
	if (at == NULL || at == s.p || at == s.p + n - 1) {
		*why = "a mailto: report URI needs an address such as "
		       "mailto:dmarc@example.com";
		return -1;
	}
	return 0;
}

/* uri_scheme_len - length of a leading scheme (RFC 3986) before ':'. */
static size_t
uri_scheme_len(struct span u)
{
	size_t i;

	if (u.n == 0 || !text_is_alpha(u.p[0]))
		return 0;
	for (i = 1; i < u.n && u.p[i] != ':'; i++)
		if (!text_is_alpha(u.p[i]) && !text_is_digit(u.p[i]) &&
		    !in_set(u.p[i], "+-."))
			return 0;
	return i < u.n ? i : 0;
}

/* uri_strip_size - drop a trailing "!" size limit; -1 when malformed. */
static int
uri_strip_size(struct span *u, const char **why)
{
	const unsigned char *bang = NULL;
	struct span tail;
	size_t i;

	for (i = 0; i < u->n; i++)
		if (u->p[i] == '!')
			bang = u->p + i;
	if (bang == NULL)
		return 0;
	tail.p = bang + 1;
	tail.n = u->n - (size_t)(tail.p - u->p);
	/* '!' is also a URI character; only "!" DIGIT starts a size. */
	if (tail.n > 0 && !text_is_digit(tail.p[0]))
		return 0;
	if (!uri_size_ok(tail)) {
		*why = "a report size limit must be digits with an optional "
		       "k, m, g or t";
		return -1;
	}
	u->n = (size_t)(bang - u->p);
	return 0;
}

/* uri_ok - one DMARC URI: URI [ "!" size ] (RFC 7489 section 6.4). */
static int
uri_ok(struct span u, const char **why)
{
	struct span scheme, rest;
	size_t n;

	if (uri_strip_size(&u, why) < 0)
		return -1;
	if ((n = uri_scheme_len(u)) == 0) {
		*why = "a report URI needs a scheme, such as mailto:";
		return -1;
	}
	scheme.p = u.p;
	scheme.n = n;
	rest.p = u.p + n + 1;
	rest.n = u.n - n - 1;
	if (uri_rest_ok(rest, why) < 0)
		return -1;
	if (span_eq(scheme, "mailto"))
		return mailto_ok(rest, why);
	return 0;
}

/*
 * uri_list - comma-separated DMARC URIs, blanks around commas.  Receivers
 * drop an unusable URI and keep the others (RFC 9989): *kept counts the
 * usable ones; 1 with the first reason in *why when one was dropped.
 */
static int
uri_list(struct span v, size_t *kept, const char **why)
{
	struct span rest = v, u;
	bool done = false;
	const char *first = NULL, *w = NULL;

	*kept = 0;
	while (span_next(&rest, ',', &u, &done)) {
		u = span_trim(u);
		if (u.n == 0)
			w = "the URI list has an empty entry";
		else if (uri_ok(u, &w) == 0) {
			(*kept)++;
			continue;
		}
		if (first == NULL)
			first = w;
	}
	if (first == NULL)
		return 0;
	*why = first;
	return 1;
}

/* uri_tag - rua or ruf; *has says whether a usable URI is left. */
static int
uri_tag(struct span v, bool *has, const char **why)
{
	size_t kept;
	int rc = uri_list(v, &kept, why);

	*has = kept > 0;
	return rc;
}

/* tag_rua - aggregate report URIs. */
static int
tag_rua(struct span v, struct dmarc_record *r, const char **why)
{
	return uri_tag(v, &r->has_rua, why);
}

/* tag_ruf - failure report URIs. */
static int
tag_ruf(struct span v, struct dmarc_record *r, const char **why)
{
	return uri_tag(v, &r->has_ruf, why);
}

/* The known tags (RFC 7489 section 6.3, RFC 9989 section 4.7). */
static const struct dmarc_tag dmarc_tags[] = {
    {"p", tag_p, false},      {"sp", tag_sp, false},
    {"np", tag_np, false},    {"adkim", tag_adkim, true},
    {"aspf", tag_aspf, true}, {"pct", tag_pct, true},
    {"fo", tag_fo, false},    {"rf", tag_rf, true},
    {"ri", tag_ri, true},     {"rua", tag_rua, true},
    {"ruf", tag_ruf, true},   {"psd", tag_psd, false},
    {"t", tag_t, false},
};

/* warn_add - one more leniency sentence for r->warn (bounded). */
static void __attribute__((format(printf, 2, 3)))
warn_add(struct dmarc_record *r, const char *fmt, ...)
{
	size_t used = strlen(r->warn);
	va_list ap;

	r->nwarn++;
	if (used + 2 >= sizeof(r->warn))
		return;
	if (used > 0) {
		r->warn[used++] = ' ';
		r->warn[used] = '\0';
	}
	va_start(ap, fmt);
	vsnprintf(r->warn + used, sizeof(r->warn) - used, fmt, ap);
	va_end(ap);
}

/* dmarc_defaults - the values of the tags a record leaves out. */
static void
dmarc_defaults(struct dmarc_record *r)
{
	memset(r, 0, sizeof(*r));
	r->p = r->sp = r->np = DMARC_POLICY_UNSET;
	r->adkim = r->aspf = 'r';
	r->pct = DMARC_DEFAULT_PCT;
	r->ri = DMARC_DEFAULT_RI;
	memcpy(r->fo, "0", 2);
	r->psd = 'u';
	r->t = 'n';
}

/* bad_byte - offset of the first control or non-ASCII byte, or len. */
static size_t
bad_byte(const unsigned char *rec, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((rec[i] < 0x20 && rec[i] != '\t') || rec[i] > 0x7e)
			break;
	return i;
}

/* tag_name_ok - ALPHA *(ALPHA / DIGIT / "_"), RFC 6376 section 3.2. */
static bool
tag_name_ok(struct span name)
{
	size_t i;

	if (name.n == 0 || !text_is_alpha(name.p[0]))
		return false;
	for (i = 1; i < name.n; i++)
		if (!text_is_alpha(name.p[i]) && !text_is_digit(name.p[i]) &&
		    name.p[i] != '_')
			return false;
	return true;
}

/* split_tag - name and value of one trimmed segment; -1 without '='. */
static int
split_tag(struct span seg, struct span *name, struct span *value)
{
	const unsigned char *eq = seg.n > 0 ? memchr(seg.p, '=', seg.n) : NULL;

	if (eq == NULL)
		return -1;
	name->p = seg.p;
	name->n = (size_t)(eq - seg.p);
	value->p = eq + 1;
	value->n = seg.n - name->n - 1;
	*name = span_trim(*name);
	*value = span_trim(*value);
	return 0;
}

/* parse_version - the first segment must be v=DMARC1, exactly. */
static int
parse_version(struct span seg, char *err, size_t errlen)
{
	struct span name, value;
	size_t vl = sizeof(DMARC_VERSION) - 1;
	char q[DMARC_ERR_VALUE_MAX];

	if (seg.n == 0 || split_tag(seg, &name, &value) < 0 ||
	    !span_eq(name, "v")) {
		errbuf_fail(
		    err, errlen,
		    "the record must start with v=DMARC1, not \"%s\"",
		    text_quote(q, sizeof(q), (const char *)seg.p, seg.n));
		return -1;
	}
	if (value.n == vl && memcmp(value.p, DMARC_VERSION, vl) == 0)
		return 0;
	if (value.n > vl && memcmp(value.p, DMARC_VERSION, vl) == 0 &&
	    is_wsp(value.p[vl]))
		errbuf_fail(
		    err, errlen,
		    "v=%s: a ';' must follow v=DMARC1 before the next tag",
		    text_quote(q, sizeof(q), (const char *)value.p, value.n));
	else
		errbuf_fail(
		    err, errlen,
		    "v=%s: the version must be exactly DMARC1 (upper case)",
		    text_quote(q, sizeof(q), (const char *)value.p, value.n));
	return -1;
}

/* find_tag - index of a known tag in dmarc_tags, or -1. */
static int
find_tag(struct span name)
{
	size_t i;

	for (i = 0; i < NELEM(dmarc_tags); i++)
		if (span_eq(name, dmarc_tags[i].name))
			return (int)i;
	return -1;
}

/* parse_tag - one segment after v; *seen marks the known tags met. */
static int
parse_tag(struct span seg, unsigned *seen, struct dmarc_record *r, char *err,
          size_t errlen)
{
	struct span name, value;
	char q[DMARC_ERR_VALUE_MAX];
	const char *why = "bad value";
	int i;

	if (split_tag(seg, &name, &value) < 0 || !tag_name_ok(name)) {
		errbuf_fail(
		    err, errlen, "\"%s\" is not a tag=value pair",
		    text_quote(q, sizeof(q), (const char *)seg.p, seg.n));
		return -1;
	}
	if (span_eq(name, "v")) {
		errbuf_fail(
		    err, errlen,
		    "v=%s: v may appear only once, as the first tag",
		    text_quote(q, sizeof(q), (const char *)value.p, value.n));
		return -1;
	}
	if ((i = find_tag(name)) < 0)
		return 0; /* unknown tags MUST be ignored */
	if (*seen & (1u << i)) {
		if (dmarc_tags[i].lenient) {
			warn_add(r,
			         "Tag %s appears twice; receivers may use "
			         "either: keep one.",
			         dmarc_tags[i].name);
			return 0;
		}
		errbuf_fail(
		    err, errlen, "tag %s appears twice (again as %s=%s)",
		    dmarc_tags[i].name, dmarc_tags[i].name,
		    text_quote(q, sizeof(q), (const char *)value.p, value.n));
		return -1;
	}
	*seen |= 1u << i;
	if (value.n == 0 && !dmarc_tags[i].lenient) {
		errbuf_fail(err, errlen, "tag %s has an empty value",
		            dmarc_tags[i].name);
		return -1;
	}
	switch (dmarc_tags[i].fn(value, r, &why)) {
	case 0:
		return 0;
	case 1:
		warn_add(
		    r, "%s=%s: %s%s.", dmarc_tags[i].name,
		    text_quote(q, sizeof(q), (const char *)value.p, value.n),
		    why,
		    dmarc_tags[i].fn == tag_rua || dmarc_tags[i].fn == tag_ruf
		        ? "; receivers drop that URI and keep the rest: fix it "
		          "or remove it"
		        : "");
		return 0;
	default:
		errbuf_fail(
		    err, errlen, "%s=%s: %s", dmarc_tags[i].name,
		    text_quote(q, sizeof(q), (const char *)value.p, value.n),
		    why);
		return -1;
	}
}

/* missing_p - a record without p: p=none with a valid rua (RFC 9989),
 * else unusable; -1 with the sentence in err. */
static int
missing_p(struct dmarc_record *r, char *err, size_t errlen)
{
	if (r->has_rua) {
		r->p = DMARC_POLICY_NONE;
		warn_add(r, "Tag p is missing: receivers read this record as "
		            "p=none only because rua is valid (RFC 9989); add "
		            "p=none or stricter.");
		return 0;
	}
	errbuf_fail(err, errlen,
	            "tag p is missing: without p or a valid rua receivers "
	            "ignore the record (RFC 9989); add p=none or "
	            "stricter after v=DMARC1");
	return -1;
}

int
dmarc_parse(const unsigned char *rec, size_t len, struct dmarc_record *out,
            char *err, size_t errlen)
{
	struct dmarc_record r;
	struct span rest, seg;
	bool done = false, first = true;
	unsigned seen = 0;
	size_t off;

	errbuf_fail(err, errlen, "%s", "");
	dmarc_defaults(&r);
	rest.p = rec != NULL ? rec : (const unsigned char *)"";
	rest.n = rec != NULL ? len : 0;
	if ((off = bad_byte(rest.p, rest.n)) < rest.n) {
		errbuf_fail(
		    err, errlen,
		    "byte 0x%02x at offset %zu is a control or non-ASCII "
		    "character; DMARC records are printable ASCII",
		    rest.p[off], off);
		return -1;
	}
	while (span_next(&rest, ';', &seg, &done)) {
		seg = span_trim(seg);
		if (first) {
			if (parse_version(seg, err, errlen) < 0)
				return -1;
			first = false;
		} else if (seg.n > 0 &&
		           parse_tag(seg, &seen, &r, err, errlen) < 0) {
			return -1;
		}
	}
	if (r.p == DMARC_POLICY_UNSET && missing_p(&r, err, errlen) < 0)
		return -1;
	if (out != NULL)
		*out = r;
	return 0;
}

/* is_space - ASCII white space, without locale. */
static bool
is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* is_dmarc_record - starts with the v=DMARC1 tag (RFC 7489 6.6.3 step 3). */
static bool
is_dmarc_record(const unsigned char *s, size_t n)
{
	size_t i, vl = sizeof(DMARC_VERSION) - 1;

	if (n == 0 || text_lower(s[0]) != 'v')
		return false;
	for (i = 1; i < n && is_wsp(s[i]); i++)
		;
	if (i >= n || s[i] != '=')
		return false;
	for (i++; i < n && is_wsp(s[i]); i++)
		;
	if (n - i < vl || memcmp(s + i, DMARC_VERSION, vl) != 0)
		return false;
	i += vl;
	return i == n || s[i] == ';' || is_space(s[i]);
}

/* dmarc_count - DMARC records in ans; *first is the place of the first. */
static size_t
dmarc_count(const struct dns_answer *ans, size_t *first)
{
	size_t i, n = 0;

	for (i = 0; i < ans->count; i++) {
		const struct dns_rr *rr = &ans->rrs[i];

		if (rr->type != DNS_TYPE_TXT || rr->data == NULL ||
		    !is_dmarc_record(rr->data, rr->len))
			continue;
		if (n++ == 0)
			*first = i;
	}
	return n;
}

enum dmarc_selection
dmarc_select(const struct dns_answer *ans, size_t *index)
{
	size_t n, first = 0;

	if (ans == NULL)
		return DMARC_SELECT_TEMP;
	switch (ans->outcome) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		return DMARC_SELECT_NONE;
	default:
		return DMARC_SELECT_TEMP;
	}
	n = dmarc_count(ans, &first);
	if (n > 0 && index != NULL)
		*index = first;
	if (n == 0)
		return DMARC_SELECT_NONE;
	return n == 1 ? DMARC_SELECT_ONE : DMARC_SELECT_MANY;
}

/* org_differs - org is given and is not domain itself. */
static bool
org_differs(const char *domain, const char *org)
{
	return domain != NULL && org != NULL && org[0] != '\0' &&
	       !dnsmsg_name_equal(domain, org);
}

bool
dmarc_needs_org(const char *domain, const char *org,
                const struct dns_answer *at_domain)
{
	return org_differs(domain, org) &&
	       dmarc_select(at_domain, NULL) == DMARC_SELECT_NONE;
}

bool
dmarc_test_mode(const struct dmarc_record *r)
{
	return r->t == 'y' || r->pct == 0;
}

enum dmarc_policy
dmarc_enforced(const struct dmarc_record *r, enum dmarc_policy stated)
{
	if (dmarc_test_mode(r) && stated > DMARC_POLICY_NONE)
		return (enum dmarc_policy)(stated - 1);
	return stated;
}

/* What dmarc_evaluate() works from, and the result it fills. */
struct dmarc_eval {
	const char *domain;
	const char *org; /* where discovery found the record */
	enum dmarc_policy min;
	const struct dmarc_context *ctx;
	struct check_result *res;
	struct dmarc_record *rec; /* the record judged, or NULL */
	size_t seen_used;         /* bytes in res->seen; > size when full */
};

/* set_name - res->name = _dmarc.ZONE, sanitized. */
static void
set_name(struct check_result *res, const char *zone)
{
	char buf[REPORT_NAME_MAX + sizeof(DMARC_PREFIX)];

	snprintf(buf, sizeof(buf), DMARC_PREFIX "%s", zone ? zone : "");
	sanitize_text(res->name, sizeof(res->name), (const unsigned char *)buf,
	              strlen(buf));
}

/* clamp_policy - a usable minimum: unset means none. */
static enum dmarc_policy
clamp_policy(enum dmarc_policy p)
{
	if (p < DMARC_POLICY_NONE)
		return DMARC_POLICY_NONE;
	if (p > DMARC_POLICY_REJECT)
		return DMARC_POLICY_REJECT;
	return p;
}

/* seen_append - sep and sanitized text to res->seen; false once full. */
static bool
seen_append(struct check_result *res, size_t *used, const char *sep,
            const unsigned char *text, size_t len)
{
	char tmp[REPORT_SEEN_MAX];
	size_t sl = strlen(sep), tl, room;

	if (*used >= sizeof(res->seen) - 1)
		return false;
	room = sizeof(res->seen) - *used;
	tl = sanitize_text(tmp, sizeof(tmp), text, len);
	if (sl + tl < room) {
		memcpy(res->seen + *used, sep, sl);
		memcpy(res->seen + *used + sl, tmp, tl + 1);
		*used += sl + tl;
		return true;
	}
	if (sl + 1 < room) {
		memcpy(res->seen + *used, sep, sl);
		sanitize_text(res->seen + *used + sl, room - sl, text, len);
	}
	*used = sizeof(res->seen);
	return false;
}

/* eval_temp - DNS trouble: temperror, the last known state holds. */
static void
eval_temp(struct check_result *res, const struct dns_answer *ans)
{
	char why[sizeof(ans->error) * 4 + 32] = "no answer";
	char e[sizeof(ans->error) * 4];

	if (ans != NULL) {
		sanitize_text(e, sizeof(e), (const unsigned char *)ans->error,
		              strnlen(ans->error, sizeof(ans->error)));
		snprintf(why, sizeof(why), "%s%s%s",
		         dns_outcome_name(ans->outcome), e[0] ? ": " : "", e);
	}
	check_result_set(
	    res, CHECK_TEMPERROR,
	    "DNS lookup of TXT %s failed (%s); the check will be retried",
	    res->name, why);
}

/* eval_many - several v=DMARC1 records: none of them applies. */
static void
eval_many(struct dmarc_eval *ev, const struct dns_answer *ans)
{
	size_t i, n = 0;

	for (i = 0; i < ans->count; i++) {
		const struct dns_rr *rr = &ans->rrs[i];

		if (rr->type != DNS_TYPE_TXT || rr->data == NULL ||
		    !is_dmarc_record(rr->data, rr->len))
			continue;
		seen_append(ev->res, &ev->seen_used, n > 0 ? " | " : "",
		            rr->data, rr->len);
		n++;
	}
	check_result_set(
	    ev->res, CHECK_FAIL,
	    "%zu DMARC records at %s; publish exactly one (RFC 7489 6.6.3)", n,
	    ev->res->name);
}

/* first_other_txt - a TXT record that was discarded, or NULL. */
static const struct dns_rr *
first_other_txt(const struct dns_answer *ans)
{
	size_t i;

	if (ans == NULL || ans->outcome != DNS_OK)
		return NULL;
	for (i = 0; i < ans->count; i++)
		if (ans->rrs[i].type == DNS_TYPE_TXT &&
		    ans->rrs[i].data != NULL)
			return &ans->rrs[i];
	return NULL;
}

/* eval_missing - no record at the domain, nor at its org domain. */
static void
eval_missing(struct dmarc_eval *ev, const struct dns_answer *at_domain,
             const struct dns_answer *at_org)
{
	char dname[REPORT_NAME_MAX], also[REPORT_NAME_MAX + 16] = "";
	char hint[REPORT_NAME_MAX + 64] = "";
	const struct dns_rr *rr = first_other_txt(at_domain);
	const struct dns_answer *from = at_domain;

	set_name(ev->res, ev->domain);
	memcpy(dname, ev->res->name, sizeof(dname));
	if (at_org != NULL) {
		set_name(ev->res, ev->org);
		snprintf(also, sizeof(also), " nor at %s", ev->res->name);
		if (rr == NULL) {
			rr = first_other_txt(at_org);
			from = at_org;
		}
	}
	if (rr != NULL) {
		seen_append(ev->res, &ev->seen_used, "", rr->data, rr->len);
		snprintf(hint, sizeof(hint),
		         " (the TXT record at %s does not start with v=DMARC1)",
		         from == at_domain ? dname : ev->res->name);
	}
	check_result_set(
	    ev->res, CHECK_MISSING,
	    "No DMARC record at %s%s%s. Publish a TXT record at %s such as "
	    "v=DMARC1; p=%s;",
	    dname, also, hint, dname, dmarc_policy_name(ev->min));
}

/* detail_add - printf at the end of a bounded buffer. */
static void __attribute__((format(printf, 4, 5)))
detail_add(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, size - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n;
}

/* pass_detail - the effective policy, where it came from, and caveats. */
static void
pass_detail(const struct dmarc_eval *ev, const struct dmarc_record *r,
            enum dmarc_policy eff, bool at_org, char *buf, size_t size)
{
	char org[REPORT_NAME_MAX];
	size_t used = 0;

	detail_add(buf, size, &used, "effective policy is %s",
	           dmarc_policy_name(eff));
	if (at_org) {
		sanitize_text(org, sizeof(org), (const unsigned char *)ev->org,
		              strlen(ev->org));
		detail_add(buf, size, &used,
		           " (%s), found by the tree walk at %s",
		           r->sp != DMARC_POLICY_UNSET ? "sp" : "p", org);
		if (r->np != DMARC_POLICY_UNSET)
			detail_add(
			    buf, size, &used,
			    "; np=%s applies only to non-existent subdomains",
			    dmarc_policy_name(r->np));
	} else {
		detail_add(buf, size, &used, ", found at %s", ev->res->name);
	}
	if (dmarc_test_mode(r) && eff > DMARC_POLICY_NONE)
		detail_add(buf, size, &used,
		           "; %s: test mode, receivers apply %s instead",
		           r->t == 'y' ? "t=y" : "pct=0",
		           dmarc_policy_name(dmarc_enforced(r, eff)));
}

/* warning_add - one sentence more in res->warning (bounded). */
static void
warning_add(struct check_result *res, const char *text)
{
	size_t used = strnlen(res->warning, sizeof(res->warning));

	if (text[0] == '\0' || used + 2 >= sizeof(res->warning))
		return;
	snprintf(res->warning + used, sizeof(res->warning) - used, "%s%s",
	         used > 0 ? " " : "", text);
}

/*
 * align_judge_dkim - adkim=s: DKIM aligns only for a From of exactly the
 * domain (d, sanitized), the key's d=.  Without the From domains the
 * operator will use, a warning that says so; with them, one that names
 * the first From domain that can never align, or a failed check (false)
 * when DKIM alignment is required.
 */
static bool
align_judge_dkim(const struct dmarc_eval *ev, const char *d)
{
	char text[3 * REPORT_NAME_MAX + REPORT_DETAIL_MAX];
	char f[REPORT_NAME_MAX];
	size_t i;

	if (ev->ctx->nfrom == 0) {
		snprintf(
		    text, sizeof(text),
		    "adkim=s: DKIM aligns only when the From domain is "
		    "exactly %s, the key's d= domain; mail From a subdomain "
		    "of it fails DKIM alignment: publish adkim=r unless "
		    "every From address is at %s.",
		    d, d);
		warning_add(ev->res, text);
		return true;
	}
	for (i = 0; i < ev->ctx->nfrom && i < DMARC_FROM_MAX; i++)
		if (ev->ctx->from[i] != NULL &&
		    !dnsmsg_name_equal(ev->ctx->from[i], ev->domain))
			break;
	if (i == ev->ctx->nfrom || i == DMARC_FROM_MAX)
		return true;
	sanitize_text(f, sizeof(f), (const unsigned char *)ev->ctx->from[i],
	              strlen(ev->ctx->from[i]));
	snprintf(text, sizeof(text),
	         "adkim=s: DKIM aligns only when the From domain is exactly "
	         "%s, the key's d= domain, and mail will be From %s, so DKIM "
	         "can never align: publish adkim=r (or remove adkim).",
	         d, f);
	if (ev->ctx->dkim_required) {
		check_result_set(ev->res, CHECK_FAIL,
		                 "%s DKIM alignment is required here.", text);
		return false;
	}
	warning_add(ev->res, text);
	return true;
}

/*
 * align_judge - what the record's alignment modes allow for this sender:
 * aspf=s with a MAIL FROM below the domain (the seed's layout) can never
 * align SPF; adkim=s aligns DKIM only for a From of exactly the domain.
 * Returns false (res failed) when SPF alignment is required and
 * impossible.
 */
static bool
align_judge(const struct dmarc_eval *ev, const struct dmarc_record *r)
{
	const char *mf = ev->ctx != NULL ? ev->ctx->mail_from : NULL;
	char d[REPORT_NAME_MAX], m[REPORT_NAME_MAX];
	char text[2 * REPORT_NAME_MAX + REPORT_DETAIL_MAX];
	bool spf_never;

	sanitize_text(d, sizeof(d), (const unsigned char *)ev->domain,
	              strlen(ev->domain));
	if (r->adkim == 's' && !align_judge_dkim(ev, d))
		return false;
	spf_never = r->aspf == 's' && mf != NULL && mf[0] != '\0' &&
	            !dnsmsg_name_equal(mf, ev->domain);
	if (!spf_never)
		return true;
	sanitize_text(m, sizeof(m), (const unsigned char *)mf, strlen(mf));
	snprintf(text, sizeof(text),
	         "aspf=s: SPF aligns only when the MAIL FROM domain is exactly "
	         "the From domain %s, and the MAIL FROM is %s, so SPF can "
	         "never align: publish aspf=r (or remove aspf).",
	         d, m);
	if (ev->ctx->spf_required) {
		check_result_set(ev->res, CHECK_FAIL,
		                 "%s SPF alignment is required here.", text);
		return false;
	}
	warning_add(ev->res, text);
	return true;
}

/* eval_record - judge the one record found for the domain. */
static void
eval_record(struct dmarc_eval *ev, const struct dns_rr *rr, bool at_org)
{
	struct dmarc_record r;
	char msg[REPORT_DETAIL_MAX];
	enum dmarc_policy eff, enf;

	seen_append(ev->res, &ev->seen_used, "", rr->data, rr->len);
	if (dmarc_parse(rr->data, rr->len, &r, msg, sizeof(msg)) < 0) {
		check_result_set(ev->res, CHECK_FAIL,
		                 "The DMARC record at %s is invalid: %s",
		                 ev->res->name, msg);
		return;
	}
	if (ev->rec != NULL)
		*ev->rec = r;
	warning_add(ev->res, r.warn);
	eff = (at_org && r.sp != DMARC_POLICY_UNSET) ? r.sp : r.p;
	enf = dmarc_enforced(&r, eff);
	if (enf < ev->min) {
		check_result_set(
		    ev->res, CHECK_FAIL,
		    "effective policy is %s; at least %s required (%s=%s at "
		    "%s%s)",
		    dmarc_policy_name(enf), dmarc_policy_name(ev->min),
		    (at_org && r.sp != DMARC_POLICY_UNSET) ? "sp" : "p",
		    dmarc_policy_name(eff), ev->res->name,
		    enf == eff ? ""
		    : r.t == 'y'
		        ? ", with t=y: test mode, receivers apply one step less"
		        : ", with pct=0: read as t=y, receivers apply one step "
		          "less");
		return;
	}
	if (!align_judge(ev, &r))
		return;
	pass_detail(ev, &r, eff, at_org, msg, sizeof(msg));
	check_result_set(ev->res, CHECK_PASS, "%s", msg);
}

/* eval_at_org - the domain has no record: judge what the org domain has. */
static void
eval_at_org(struct dmarc_eval *ev, const struct dns_answer *at_domain,
            const struct dns_answer *at_org)
{
	size_t idx = 0;

	if (at_org == NULL) {
		char org[REPORT_NAME_MAX];

		sanitize_text(org, sizeof(org), (const unsigned char *)ev->org,
		              strlen(ev->org));
		check_result_set(
		    ev->res, CHECK_TEMPERROR,
		    "No DMARC record at %s, and the organizational domain %s "
		    "was not queried; the check will be retried",
		    ev->res->name, org);
		return;
	}
	set_name(ev->res, ev->org);
	switch (dmarc_select(at_org, &idx)) {
	case DMARC_SELECT_ONE:
		eval_record(ev, &at_org->rrs[idx], true);
		break;
	case DMARC_SELECT_MANY:
		eval_many(ev, at_org);
		break;
	case DMARC_SELECT_TEMP:
		eval_temp(ev->res, at_org);
		break;
	case DMARC_SELECT_NONE:
		eval_missing(ev, at_domain, at_org);
		break;
	}
}

void
dmarc_evaluate(const char *domain, const char *org,
               const struct dns_answer *at_domain,
               const struct dns_answer *at_org, enum dmarc_policy min_policy,
               struct check_result *res)
{
	dmarc_judge(domain, org, at_domain, at_org, min_policy, NULL, res,
	            NULL);
}

void
dmarc_judge(const char *domain, const char *found,
            const struct dns_answer *at_domain,
            const struct dns_answer *at_found, enum dmarc_policy min_policy,
            const struct dmarc_context *ctx, struct check_result *res,
            struct dmarc_record *rec)
{
	static const struct dmarc_context none = {.mail_from = NULL};
	struct dmarc_eval ev;
	size_t idx = 0;

	memset(res, 0, sizeof(*res));
	res->type = CHECK_DMARC;
	ev.domain = domain != NULL ? domain : "";
	ev.org = found != NULL ? found : "";
	ev.min = clamp_policy(min_policy);
	ev.ctx = ctx != NULL ? ctx : &none;
	ev.res = res;
	ev.rec = rec;
	ev.seen_used = 0;
	set_name(res, ev.domain);
	snprintf(res->expected, sizeof(res->expected), "v=DMARC1; p=%s%s",
	         dmarc_policy_name(ev.min),
	         ev.min == DMARC_POLICY_REJECT ? "" : " (or stricter)");
	switch (dmarc_select(at_domain, &idx)) {
	case DMARC_SELECT_ONE:
		eval_record(&ev, &at_domain->rrs[idx], false);
		break;
	case DMARC_SELECT_MANY:
		eval_many(&ev, at_domain);
		break;
	case DMARC_SELECT_TEMP:
		eval_temp(res, at_domain);
		break;
	case DMARC_SELECT_NONE:
		if (org_differs(ev.domain, ev.org))
			eval_at_org(&ev, at_domain, at_found);
		else
			eval_missing(&ev, at_domain, NULL);
		break;
	}
}

/* label_count - labels of a name in text form (no trailing dot). */
static size_t
label_count(const char *name)
{
	size_t n = name[0] != '\0';

	for (; *name != '\0'; name++)
		if (*name == '.' && name[1] != '\0')
			n++;
	return n;
}

/* last_labels - the rightmost k labels of name (a suffix of it). */
static const char *
last_labels(const char *name, size_t k)
{
	size_t n = label_count(name);
	const char *p = name;

	while (n > k && (p = strchr(p, '.')) != NULL) {
		p++;
		n--;
	}
	return p != NULL ? p : name;
}

/*
 * dmarc_walk_names - RFC 9989 section 4.10.1: the domain itself, then,
 * for a name of eight labels or more, its last seven, then one label
 * less each time down to the top-level domain: never more than eight.
 */
size_t
dmarc_walk_names(const char *domain, char names[][DMARC_NAME_MAX], size_t max)
{
	size_t n = 0, labels;
	const char *cur;

	if (domain == NULL || domain[0] == '\0' || max == 0 ||
	    strlen(domain) >= DMARC_NAME_MAX)
		return 0;
	labels = label_count(domain);
	snprintf(names[n++], DMARC_NAME_MAX, "%s", domain);
	if (labels >= DMARC_WALK_MAX)
		labels = DMARC_WALK_MAX; /* the next step leaves seven */
	while (labels > 1 && n < max && n < DMARC_WALK_MAX) {
		labels--;
		cur = last_labels(domain, labels);
		snprintf(names[n++], DMARC_NAME_MAX, "%s", cur);
	}
	return n;
}

int
dmarc_walk_init(struct dmarc_walk *w, const char *domain)
{
	memset(w, 0, sizeof(*w));
	w->policy = w->org_psd = w->shortest = -1;
	w->n = dmarc_walk_names(domain, w->names, DMARC_WALK_MAX);
	return w->n > 0 ? 0 : -1;
}

const char *
dmarc_walk_next(const struct dmarc_walk *w)
{
	if (w->temp || w->org_psd >= 0 || w->asked >= w->n)
		return NULL;
	return w->names[w->asked];
}

/*
 * dmarc_walk_take - the policy is the first name with a DMARC record
 * (valid or not: an invalid one is what the operator must fix); the walk
 * goes on past it only to find the organizational domain, and stops at a
 * psd=n record, at a psd=y record other than the first name's, at DNS
 * trouble, or after the last name.
 */
bool
dmarc_walk_take(struct dmarc_walk *w, const struct dns_answer *ans)
{
	struct dmarc_record r;
	size_t i, idx = 0;
	char err[8];

	if (dmarc_walk_next(w) == NULL)
		return false;
	i = w->asked++;
	switch (dmarc_select(ans, &idx)) {
	case DMARC_SELECT_TEMP:
		w->temp = true;
		return false;
	case DMARC_SELECT_NONE:
		break;
	case DMARC_SELECT_MANY:
		if (w->policy < 0)
			w->policy = (int)i;
		break;
	case DMARC_SELECT_ONE:
		if (w->policy < 0)
			w->policy = (int)i;
		if (dmarc_parse(ans->rrs[idx].data, ans->rrs[idx].len, &r, err,
		                sizeof(err)) < 0)
			break;
		w->psd[i] = r.psd;
		w->shortest = (int)i;
		if (r.psd == 'n' || (r.psd == 'y' && i > 0))
			w->org_psd = (int)i;
		break;
	}
	return dmarc_walk_next(w) != NULL;
}

/* dmarc_walk_org - RFC 9989 section 4.10.2, longest name first: psd=n
 * names itself, psd=y the name one label below it, else the shortest
 * name with a valid record, else the domain itself. */
void
dmarc_walk_org(const struct dmarc_walk *w, char *out, size_t outlen)
{
	const char *org = w->names[0];

	if (w->org_psd >= 0 && w->psd[w->org_psd] == 'y')
		org = last_labels(w->names[0],
		                  label_count(w->names[w->org_psd]) + 1);
	else if (w->org_psd >= 0)
		org = w->names[w->org_psd];
	else if (w->shortest >= 0)
		org = w->names[w->shortest];
	snprintf(out, outlen, "%s", w->n > 0 ? org : "");
}
