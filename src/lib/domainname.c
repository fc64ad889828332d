/*
 * domainname.c - domain names as operators type them and as DNS needs them.
 *
 * SYNOPSIS
 *	int domain_normalize(const char *in, size_t inlen, char *out,
 *	    size_t outlen, char *err, size_t errlen);
 *	int domain_org(const char *domain, char *out, size_t outlen);
 *	bool domain_is_below(const char *name, const char *parent);
 *	int domain_join(const char *label, const char *parent, char *out,
 *	    size_t outlen);
 *	int address_plain_ok(const char *addr);
 *
 * DESCRIPTION
 *	domain_normalize() takes untrusted bytes (an envelope sender's
 *	domain, a command-line argument, a config value) and produces the
 *	one form the rest of authready compares and stores: NUL and control
 *	bytes are refused, one trailing dot is dropped, a name with any byte
 *	>= 0x80 is converted to A-labels by libidn2 (IDNA2008 with UTS #46
 *	non-transitional mapping, NFC input), the result is lowercased and
 *	every label must be 1..LABEL_MAX octets of letters, digits, hyphen
 *	or underscore, not starting or ending with a hyphen; the whole name
 *	is at most DOMAIN_MAX octets.  Underscores are allowed because
 *	authready names _dmarc and _domainkey records.  A name that is
 *	ASCII already is taken as DNS has it: its A-labels are not decoded,
 *	since a name that resolves is the name mail uses.  A single label is
 *	accepted; callers judge whether that makes sense for them.
 *
 *	domain_org() returns the registrable domain from the public suffix
 *	list (libpsl).  The list is loaded once per process (the newer of
 *	libpsl's built-in copy and /usr/share/publicsuffix) and is read-only
 *	afterwards, so concurrent calls are safe.
 *
 *	domain_is_below() and domain_join() compare and build names on label
 *	boundaries.
 *
 * DIAGNOSTICS
 *	domain_normalize() returns -1 with one sentence in err; the sentence
 *	quotes the offending label through sanitize_text().  The others
 *	return -1 or false without a message.
 */
#include "domainname.h"

#include <idn2.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "sanitize.h"
#include "text.h"

/* Longest input accepted: a U-label name may be longer than its A-labels. */
#define DOMAIN_INPUT_MAX 1024
/* How much of a label an error message quotes. */
#define DOMAIN_QUOTE_MAX 24

#define DOMAIN_IDN2_FLAGS (IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT)

static pthread_once_t domain_psl_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t *domain_psl;

/* domain_scan - refuse NUL and control bytes; note non-ASCII bytes. */
static int
domain_scan(const char *in, size_t len, int *nonascii, char *err, size_t errlen)
{
	size_t i;

	if (text_refuse_control(in, len, "name", false, err, errlen) != 0)
		return -1;
	*nonascii = 0;
	for (i = 0; i < len && !*nonascii; i++)
		*nonascii = (unsigned char)in[i] >= 0x80;
	return 0;
}

/* domain_shape - refuse an empty name, a leading dot, an empty label. */
static int
domain_shape(const char *in, size_t len, char *err, size_t errlen)
{
	size_t i;

	if (len == 0)
		return errbuf_fail(err, errlen, "name is empty");
	if (in[0] == '.')
		return errbuf_fail(err, errlen, "name starts with a dot");
	/* before libidn2 sees it; domain_check() catches the rest */
	for (i = 1; i < len; i++)
		if (in[i] == '.' && in[i - 1] == '.')
			return errbuf_fail(err, errlen,
			                   "name has an empty label");
	return 0;
}

/* domain_idn - U-labels to A-labels through libidn2, into buf. */
static int
domain_idn(char *buf, size_t buflen, char *err, size_t errlen)
{
	char *ascii = NULL;
	size_t n;
	int rc;

	rc = idn2_to_ascii_8z(buf, &ascii, DOMAIN_IDN2_FLAGS);
	if (rc != IDN2_OK)
		return errbuf_fail(
		    err, errlen,
		    "name is not a valid internationalized domain name: %s",
		    idn2_strerror(rc));
	n = strlen(ascii);
	if (n >= buflen) {
		idn2_free(ascii);
		return errbuf_fail(err, errlen,
		                   "name is %zu octets; at most %d allowed", n,
		                   DOMAIN_MAX);
	}
	memcpy(buf, ascii, n + 1);
	idn2_free(ascii);
	return 0;
}

/* domain_label_char - true for the octets a label may hold. */
static int
domain_label_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

/* domain_label_check - one lowercased label of a name. */
static int
domain_label_check(const char *label, size_t len, char *err, size_t errlen)
{
	char q[DOMAIN_QUOTE_MAX], qc[DOMAIN_QUOTE_MAX];
	size_t i;

	if (len == 0)
		return errbuf_fail(err, errlen, "name has an empty label");
	if (len > LABEL_MAX)
		return errbuf_fail(
		    err, errlen, "label '%s' is %zu octets; at most %d allowed",
		    text_quote(q, sizeof(q), label, len), len, LABEL_MAX);
	for (i = 0; i < len; i++)
		if (!domain_label_char((unsigned char)label[i]))
			return errbuf_fail(
			    err, errlen,
			    "label '%s' contains '%s'; only letters, digits, "
			    "'-' and '_' are allowed",
			    text_quote(q, sizeof(q), label, len),
			    text_quote(qc, sizeof(qc), label + i, 1));
	if (label[0] == '-')
		return errbuf_fail(err, errlen,
		                   "label '%s' starts with a hyphen",
		                   text_quote(q, sizeof(q), label, len));
	if (label[len - 1] == '-')
		return errbuf_fail(err, errlen, "label '%s' ends with a hyphen",
		                   text_quote(q, sizeof(q), label, len));
	return 0;
}

/* domain_check - lowercase name in place and check every label. */
static int
domain_check(char *name, char *err, size_t errlen)
{
	size_t len = strlen(name), start = 0, i;

	for (i = 0; i < len; i++)
		name[i] = (char)text_lower((unsigned char)name[i]);
	for (i = 0; i <= len; i++) {
		if (i < len && name[i] != '.')
			continue;
		if (domain_label_check(name + start, i - start, err, errlen))
			return -1;
		start = i + 1;
	}
	if (len > DOMAIN_MAX)
		return errbuf_fail(err, errlen,
		                   "name is %zu octets; at most %d allowed",
		                   len, DOMAIN_MAX);
	return 0;
}

int
domain_normalize(const char *in, size_t inlen, char *out, size_t outlen,
                 char *err, size_t errlen)
{
	char work[DOMAIN_INPUT_MAX + 1];
	int nonascii;
	size_t n;

	if (in == NULL)
		return errbuf_fail(err, errlen, "name is empty");
	if (domain_scan(in, inlen, &nonascii, err, errlen))
		return -1;
	if (inlen > 0 && in[inlen - 1] == '.')
		inlen--;
	if (domain_shape(in, inlen, err, errlen))
		return -1;
	if (inlen > DOMAIN_INPUT_MAX)
		return errbuf_fail(err, errlen,
		                   "name is %zu octets; at most %d allowed",
		                   inlen, DOMAIN_MAX);
	memcpy(work, in, inlen);
	work[inlen] = '\0';
	if (nonascii && domain_idn(work, sizeof(work), err, errlen))
		return -1;
	if (domain_check(work, err, errlen))
		return -1;
	n = strlen(work);
	if (out == NULL || n >= outlen)
		return errbuf_fail(
		    err, errlen,
		    "name is %zu octets; the output buffer holds %zu", n,
		    outlen > 0 ? outlen - 1 : 0);
	memcpy(out, work, n + 1);
	return 0;
}

/* domain_psl_load - the newest list available, else the built-in one. */
static void
domain_psl_load(void)
{
	psl_ctx_t *latest = psl_latest(NULL);

	domain_psl = latest != NULL ? latest : psl_builtin();
}

int
domain_org(const char *domain, char *out, size_t outlen)
{
	const char *reg;
	size_t n;

	if (domain == NULL || *domain == '\0' || out == NULL)
		return -1;
	if (pthread_once(&domain_psl_once, domain_psl_load) != 0 ||
	    domain_psl == NULL)
		return -1;
	reg = psl_registrable_domain(domain_psl, domain);
	if (reg == NULL)
		return -1;
	n = strlen(reg);
	if (n == 0 || n >= outlen)
		return -1;
	memcpy(out, reg, n + 1);
	return 0;
}

/* domain_len - length without one trailing dot. */
static size_t
domain_len(const char *name)
{
	size_t n = strlen(name);

	return (n > 0 && name[n - 1] == '.') ? n - 1 : n;
}

bool
domain_is_below(const char *name, const char *parent)
{
	size_t nlen, plen;

	/*
	 * An empty parent (the root) would make every name "below" it; that
	 * is more likely a caller's bug than intent, so it matches nothing.
	 */
	if (name == NULL || parent == NULL || *parent == '\0' ||
	    *parent == '.' || *name == '.')
		return false;
	nlen = domain_len(name);
	plen = domain_len(parent);
	/* at least one octet of label and the dot before parent */
	if (plen == 0 || nlen < plen + 2)
		return false;
	if (name[nlen - plen - 1] != '.' || name[nlen - plen - 2] == '.')
		return false;
	return text_ieq_n(name + nlen - plen, parent, plen);
}

int
domain_join(const char *label, const char *parent, char *out, size_t outlen)
{
	size_t llen, plen;

	if (label == NULL || parent == NULL || out == NULL)
		return -1;
	llen = strlen(label);
	plen = domain_len(parent);
	if (llen == 0 || plen == 0 || label[0] == '.' || label[llen - 1] == '.')
		return -1;
	if (llen + 1 + plen > DOMAIN_MAX || llen + 1 + plen >= outlen)
		return -1;
	memcpy(out, label, llen);
	out[llen] = '.';
	memcpy(out + llen + 1, parent, plen);
	out[llen + 1 + plen] = '\0';
	return 0;
}

int
address_plain_ok(const char *addr)
{
	const char *at = strchr(addr, '@');
	size_t len = strlen(addr), i;

	if (len == 0 || len > ADDRESS_PLAIN_MAX || at == NULL || at == addr ||
	    at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)addr[i];

		if (c <= 0x20 || c >= 0x7f || strchr("<>()[]\\,;:\"", c))
			return 0;
	}
	return 1;
}
