/*
 * revpath.c - the SMTP reverse-path as an MTA hands it to a milter.
 *
 * SYNOPSIS
 *	#include "revpath.h"
 *
 *	int revpath_parse(const char *buf, size_t len, struct revpath *out,
 *	    char *err, size_t errlen);
 *	const char *revpath_code_name(int code);
 *	int revpath_code_lookup(const char *name);
 *	const struct revpath_reply *revpath_reply(int code);
 * DESCRIPTION
 *	revpath_parse() reads argv[0] of the milter's xxfi_envfrom: the
 *	MAIL FROM argument as Postfix or Sendmail pass it, normally with
 *	angle brackets ("<user@example.com>", "<>").  The grammar is
 *	RFC 5321 section 4.1.2, extended by RFC 6531 (UTF-8 in atoms, in
 *	quoted strings and as U-labels):
 *
 *	    Reverse-path = Path / "<>"
 *	    Path         = "<" [ A-d-l ":" ] Mailbox ">"
 *	    A-d-l        = At-domain *( "," At-domain )
 *	    Mailbox      = Local-part "@" ( Domain / address-literal )
 *	    Local-part   = Dot-string / Quoted-string
 *
 *	Where real MTAs are tolerant, so is this parser, and no further:
 *
 *	o   The brackets are optional: a bare "user@example.com" (or
 *	    "" for the null sender) is what command-line tools and some
 *	    MTAs pass.  A bracket on one side only is an error.
 *	o   Spaces (0x20 only) around the whole argument are dropped; they
 *	    are unambiguous.  Any other whitespace, and any space inside,
 *	    is an error: smtpd's tokenizer never leaves one there, so it
 *	    means a confused client or an injection attempt.
 *	o   Source routes are parsed, checked and dropped (RFC 5321
 *	    appendix C); out->routes counts the hops.
 *	o   One trailing dot on the domain is dropped; letter case in the
 *	    domain is folded by domain_normalize().
 *	o   '_' is accepted in domain labels, as Postfix's valid_hostname()
 *	    accepts it and domain_normalize() keeps it.
 *	o   A single-label domain ("root@localhost") is accepted; the
 *	    organizational-domain lookup refuses it later.
 *	o   An empty quoted local part ("""@example.com) is grammatical
 *	    and accepted.
 *	o   A local part over 64 octets (RFC 5321 4.5.3.1.1) and a path
 *	    over 256 octets (4.5.3.1.3) are accepted and flagged
 *	    (out->long_local, out->long_path) for the log: Postfix accepts
 *	    them, VERP and SRS senders exceed the limits in real traffic,
 *	    and this gate judges domains, so a path is refused only when no
 *	    domain can be found in it.  The domain's own limits (255 octets
 *	    as sent, 253 as ASCII, 63-octet labels) still hold: a path whose
 *	    domain breaks them has no domain.  REVPATH_INPUT_MAX (4096
 *	    octets, above the 2048 of Postfix's line_length_limit and
 *	    Sendmail's MAXLINE) bounds the whole argument.
 *	o   A local part too long for out->local (REVPATH_LOCAL_BUF - 1
 *	    octets, more than any path within 256 octets holds) is checked
 *	    whole and kept cut at a UTF-8 character boundary, with
 *	    out->local_cut set: a copy for the log, never the whole address.
 *
 *	Refused because it would invite confusion:
 *
 *	o   Anything after the closing '>' ("<u@example.com> SIZE=100"):
 *	    ESMTP parameters are never part of argv[0].
 *	o   NUL, C0 and C1 controls and DEL anywhere, even quoted (RFC
 *	    5321 qtextSMTP has none), and bytes that are not UTF-8.
 *	o   A domain whose last label is all digits: an IPv4 address
 *	    written without brackets.
 *	o   An address-literal tag other than "IPv6:" (RFC 5321
 *	    General-address-literal has no other registered tag).
 *
 *	Checks run in a fixed order so that every input has one answer:
 *	the length of the whole argument as passed (spaces around it
 *	included, brackets added when absent, so that no work is done on an
 *	insane amount of data: REVPATH_INPUT_MAX), the bytes, the brackets,
 *	the source route, the local part, the domain and its length (255
 *	octets as sent, DOMAIN_MAX (253) as ASCII, LABEL_MAX per label).
 *	A U-label domain that fits as sent but whose A-label form is too
 *	long, or that libidn2 refuses for any other reason, is
 *	REVPATH_SYNTAX.
 *
 *	The local part is stored exactly as sent (cut only beyond
 *	REVPATH_LOCAL_BUF - 1 octets): a quoted local part keeps its quotes
 *	and backslashes, so that it can be logged (through sanitize_text())
 *	without losing what the client said; limits apply to those octets.
 *	The domain is the output of domain_normalize(): lowercase, no
 *	trailing dot, A-labels.  A domain that is an address literal is
 *	checked with inet_pton() and stored in canonical form, "[192.0.2.1]"
 *	or "[IPv6:2001:db8::1]".
 *
 *	revpath_code_name() and revpath_code_lookup() map the return codes
 *	to names and back; revpath_reply() gives the milter's answer for
 *	each: accept (subject to policy) for a domain, the null sender or a
 *	literal, "550 5.1.7" (bad sender mailbox address syntax, RFC 3463)
 *	for every parse failure.
 * DIAGNOSTICS
 *	REVPATH_SYNTAX and REVPATH_TOO_LONG come with one sentence in err;
 *	offending text is quoted through sanitize_text().
 * SEE ALSO
 *	RFC 5321 sections 4.1.2, 4.1.3 and 4.5.3.1; RFC 6531 section 3.3;
 *	address(3) domain_normalize().
 */
#include "revpath.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "errbuf.h"
#include "sanitize.h"
#include "text.h"

/* How much of the offending text an error message quotes. */
#define REVPATH_QUOTE_MAX 40
/* "IPv6:" plus the longest textual IPv6 address, with room to spare. */
#define REVPATH_LITERAL_MAX 64
#define REVPATH_IPV6_TAG "IPv6:"
#define REVPATH_IPV6_TAG_LEN (sizeof(REVPATH_IPV6_TAG) - 1)

/* One slice of the caller's buffer; never NUL-terminated. */
struct rp_text {
	const char *s;
	size_t len;
};

static const char *const revpath_names[] = {
    [REVPATH_OK] = "ok",
    [REVPATH_NULL] = "null",
    [REVPATH_LITERAL] = "literal",
    [REVPATH_SYNTAX] = "syntax",
    [REVPATH_TOO_LONG] = "too_long",
};

#define REVPATH_REJECT                                                         \
	{                                                                      \
		"reject", "550", "5.1.7", "Bad sender address syntax"          \
	}

static const struct revpath_reply revpath_replies[] = {
    [REVPATH_OK] = {"accept", NULL, NULL, NULL},
    [REVPATH_NULL] = {"accept-null", NULL, NULL, NULL},
    [REVPATH_LITERAL] = {"accept-literal", NULL, NULL, NULL},
    [REVPATH_SYNTAX] = REVPATH_REJECT,
    [REVPATH_TOO_LONG] = REVPATH_REJECT,
};

#define REVPATH_NCODES (sizeof(revpath_names) / sizeof(revpath_names[0]))

/* rp_char_fail - "<where> contains <the byte at s>"; syntax error. */
static int
rp_char_fail(char *err, size_t errlen, const char *where, const char *s)
{
	char q[REVPATH_QUOTE_MAX];

	if (*s == ' ')
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "%s contains a space", where);
	return errbuf_code(err, errlen, REVPATH_SYNTAX, "%s contains '%s'",
	                   where, text_quote(q, sizeof(q), s, 1));
}

/* rp_utf8_len - octets of the valid UTF-8 sequence at s, 0 if none. */
static size_t
rp_utf8_len(const unsigned char *s, size_t len)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond Unicode */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* rp_scan_bytes - refuse NUL, controls, DEL and anything but UTF-8. */
static int
rp_scan_bytes(const char *buf, size_t len, char *err, size_t errlen)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0, n;

	while (i < len) {
		if (s[i] == '\0')
			return errbuf_code(err, errlen, REVPATH_SYNTAX,
			                   "the address contains a NUL byte");
		if (s[i] < 0x20 || s[i] == 0x7f)
			return errbuf_code(
			    err, errlen, REVPATH_SYNTAX,
			    "the address contains the control character "
			    "\\x%02x",
			    s[i]);
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = rp_utf8_len(s + i, len - i)) == 0)
			return errbuf_code(err, errlen, REVPATH_SYNTAX,
			                   "the address is not valid UTF-8 at "
			                   "octet %zu",
			                   i + 1);
		/* U+0080..U+009F: C1 controls, as dangerous as C0 */
		if (n == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0)
			return errbuf_code(err, errlen, REVPATH_SYNTAX,
			                   "the address contains the control "
			                   "character U+%04X",
			                   (unsigned)s[i + 1]);
		i += n;
	}
	return REVPATH_OK;
}

/* rp_close_scan - offset of the first unquoted '<' or '>' from i. */
static size_t
rp_close_scan(const char *s, size_t len, size_t i, int *unclosed)
{
	int quoted = 0;

	for (; i < len; i++) {
		if (quoted && s[i] == '\\')
			i++;
		else if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted && (s[i] == '<' || s[i] == '>'))
			return i;
	}
	*unclosed = quoted;
	return len;
}

/* rp_unwrap - the text between the brackets, or all of a bare path. */
static int
rp_unwrap(struct rp_text *in, char *err, size_t errlen)
{
	int bracketed = in->len > 0 && in->s[0] == '<';
	int unclosed = 0;
	size_t start = bracketed ? 1 : 0;
	size_t i = rp_close_scan(in->s, in->len, start, &unclosed);

	if (unclosed)
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "a quoted string is not closed");
	if (!bracketed) {
		if (i < in->len)
			return errbuf_code(
			    err, errlen, REVPATH_SYNTAX,
			    "'%c' appears without a matching '<'", in->s[i]);
		return REVPATH_OK;
	}
	if (i == in->len)
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "the '<' is not closed by '>'");
	if (in->s[i] == '<')
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "'<' appears inside the brackets");
	if (i + 1 != in->len)
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "text follows the closing '>'");
	in->s += 1;
	in->len = i - 1;
	return REVPATH_OK;
}

/* rp_let_dig - ASCII letter or digit. */
static int
rp_let_dig(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* rp_ascii - true when no octet has the high bit set. */
static int
rp_ascii(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 0;
	return 1;
}

/* rp_label - one label of a domain: syntax and length. */
static int
rp_label(const char *s, size_t len, const char *what, char *err, size_t errlen)
{
	char q[REVPATH_QUOTE_MAX];
	size_t i;

	if (len == 0)
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "%s has an empty label", what);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80 && !rp_let_dig(c) && c != '-' && c != '_')
			return rp_char_fail(err, errlen, what, s + i);
	}
	if (s[0] == '-' || s[len - 1] == '-')
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "%s label '%s' %s with a hyphen", what,
		                   text_quote(q, sizeof(q), s, len),
		                   s[0] == '-' ? "starts" : "ends");
	/* U-labels are measured by libidn2 after conversion */
	if (len > LABEL_MAX && rp_ascii(s, len))
		return errbuf_code(
		    err, errlen, REVPATH_TOO_LONG,
		    "%s label '%s' is %zu octets; at most %d allowed", what,
		    text_quote(q, sizeof(q), s, len), len, LABEL_MAX);
	return REVPATH_OK;
}

/* rp_all_digits - true when every octet is an ASCII digit. */
static int
rp_all_digits(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return len > 0;
}

/* rp_numeric_fail - the domain's last label is all digits. */
static int
rp_numeric_fail(char *err, size_t errlen, const char *what)
{
	return errbuf_code(
	    err, errlen, REVPATH_SYNTAX,
	    "%s ends in an all-numeric label; an IP address must "
	    "be written as [192.0.2.1]",
	    what);
}

/* rp_domain_syntax - Domain of RFC 5321/6531, one trailing dot dropped. */
static int
rp_domain_syntax(struct rp_text *d, const char *what, char *err, size_t errlen)
{
	size_t i, start = 0, last = 0;
	int rc;

	if (d->len > REVPATH_DOMAIN_MAX)
		return errbuf_code(err, errlen, REVPATH_TOO_LONG,
		                   "%s is %zu octets; at most %d allowed", what,
		                   d->len, REVPATH_DOMAIN_MAX);
	if (d->len > 0 && d->s[d->len - 1] == '.')
		d->len--;
	if (d->len == 0)
		return errbuf_code(err, errlen, REVPATH_SYNTAX, "%s is empty",
		                   what);
	if (d->s[0] == '.')
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "%s starts with a dot", what);
	/* the DNS limit; a U-label name is measured after conversion */
	if (d->len > DOMAIN_MAX && rp_ascii(d->s, d->len))
		return errbuf_code(err, errlen, REVPATH_TOO_LONG,
		                   "%s is %zu octets; at most %d allowed", what,
		                   d->len, DOMAIN_MAX);
	for (i = 0; i <= d->len; i++) {
		if (i < d->len && d->s[i] != '.')
			continue;
		rc = rp_label(d->s + start, i - start, what, err, errlen);
		if (rc != REVPATH_OK)
			return rc;
		last = start;
		start = i + 1;
	}
	if (rp_all_digits(d->s + last, d->len - last))
		return rp_numeric_fail(err, errlen, what);
	return REVPATH_OK;
}

/* rp_route - skip "@one.example,@two.example:"; *used is its length. */
static int
rp_route(const struct rp_text *in, size_t *used, unsigned *routes, char *err,
         size_t errlen)
{
	struct rp_text d;
	size_t i = 0, j;
	int rc;

	for (;;) {
		if (i >= in->len || in->s[i] != '@')
			return errbuf_code(err, errlen, REVPATH_SYNTAX,
			                   "a source-route hop does not start "
			                   "with '@'");
		for (j = ++i; j < in->len && in->s[j] != ',' && in->s[j] != ':';
		     j++)
			;
		if (j == in->len && *routes == 0)
			return errbuf_code(err, errlen, REVPATH_SYNTAX,
			                   "the local part is empty");
		d.s = in->s + i;
		d.len = j - i;
		rc = rp_domain_syntax(&d, "a source-route domain", err, errlen);
		if (rc != REVPATH_OK)
			return rc;
		(*routes)++;
		if (j == in->len)
			return errbuf_code(
			    err, errlen, REVPATH_SYNTAX,
			    "the source route does not end with ':'");
		i = j + 1;
		if (in->s[j] == ':')
			break;
	}
	*used = i;
	return REVPATH_OK;
}

/* rp_atext - RFC 5321 atext, plus UTF-8 (RFC 6531; checked already). */
static int
rp_atext(unsigned char c)
{
	return rp_let_dig(c) || c >= 0x80 ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* rp_quoted - Quoted-string at s; *n is its length with the quotes. */
static int
rp_quoted(const char *s, size_t len, size_t *n, char *err, size_t errlen)
{
	size_t i;

	for (i = 1; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"') {
			*n = i + 1;
			return REVPATH_OK;
		}
		/* quoted-pairSMTP: backslash and one printable ASCII */
		if (c == '\\' &&
		    (i + 1 == len || (unsigned char)s[i + 1] >= 0x80))
			return errbuf_code(
			    err, errlen, REVPATH_SYNTAX,
			    "a backslash in the quoted local part "
			    "is not followed by printable ASCII");
		if (c == '\\')
			i++;
	}
	return errbuf_code(err, errlen, REVPATH_SYNTAX,
	                   "a quoted string is not closed");
}

/* rp_dot_string - Dot-string at s up to the '@'; *n is its length. */
static int
rp_dot_string(const char *s, size_t len, size_t *n, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < len && s[i] != '@'; i++) {
		if (s[i] == '.' && (i == 0 || s[i - 1] == '.'))
			return errbuf_code(err, errlen, REVPATH_SYNTAX,
			                   i == 0
			                       ? "the local part starts with "
			                         "a dot"
			                       : "the local part has two dots "
			                         "in a row");
		if (s[i] != '.' && !rp_atext((unsigned char)s[i]))
			return rp_char_fail(err, errlen, "the local part",
			                    s + i);
	}
	if (i > 0 && s[i - 1] == '.')
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "the local part ends with a dot");
	*n = i;
	return REVPATH_OK;
}

/* rp_keep_local - the local part s (n octets, checked) into out->local,
 * cut at a UTF-8 character boundary when it does not fit. */
static void
rp_keep_local(struct revpath *out, const char *s, size_t n)
{
	size_t keep = n;

	if (n >= sizeof(out->local)) {
		keep = sizeof(out->local) - 1;
		/* s[keep] is the first octet left out: not a continuation */
		while (keep > 0 && ((unsigned char)s[keep] & 0xc0) == 0x80)
			keep--;
		out->local_cut = true;
	}
	memcpy(out->local, s, keep);
	out->local[keep] = '\0';
}

/* rp_local - Local-part and the '@' after it; consumes from in. */
static int
rp_local(struct rp_text *in, struct revpath *out, char *err, size_t errlen)
{
	size_t n = 0;
	int rc;

	if (in->len > 0 && in->s[0] == '"')
		rc = rp_quoted(in->s, in->len, &n, err, errlen);
	else
		rc = rp_dot_string(in->s, in->len, &n, err, errlen);
	if (rc != REVPATH_OK)
		return rc;
	if (n == 0)
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "the local part is empty");
	if (n == in->len)
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "the address has no '@'");
	if (in->s[n] != '@')
		return rp_char_fail(err, errlen,
		                    "the text after the quoted local part",
		                    in->s + n);
	/* Over 64 octets is only noted; beyond local[] it is kept cut
	 * (see the header). */
	out->long_local = n > REVPATH_LOCAL_MAX;
	rp_keep_local(out, in->s, n);
	in->s += n + 1;
	in->len -= n + 1;
	return REVPATH_OK;
}

/* rp_literal - "[192.0.2.1]" or "[IPv6:...]", checked by inet_pton(). */
static int
rp_literal(const struct rp_text *d, struct revpath *out, char *err,
           size_t errlen)
{
	char text[REVPATH_LITERAL_MAX], addr[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	size_t n = d->len;
	int v6;

	if (n < 2 || d->s[n - 1] != ']')
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "the address literal is not closed by ']'");
	n -= 2;
	if (n >= sizeof(text))
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "the address literal is %zu octets; no IP "
		                   "address is that long",
		                   n);
	memcpy(text, d->s + 1, n);
	text[n] = '\0';
	v6 = strncasecmp(text, REVPATH_IPV6_TAG, REVPATH_IPV6_TAG_LEN) == 0;
	if (!v6 && strchr(text, ':') != NULL)
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "the address literal has a tag other than "
		                   "'IPv6:'");
	if (inet_pton(v6 ? AF_INET6 : AF_INET,
	              v6 ? text + REVPATH_IPV6_TAG_LEN : text, bin) != 1 ||
	    inet_ntop(v6 ? AF_INET6 : AF_INET, bin, addr, sizeof(addr)) == NULL)
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "the address literal is not a valid IPv%c "
		                   "address",
		                   v6 ? '6' : '4');
	snprintf(out->domain, sizeof(out->domain), "[%s%s]",
	         v6 ? REVPATH_IPV6_TAG : "", addr);
	out->literal = true;
	return REVPATH_LITERAL;
}

/* rp_domain - the Domain after the '@', normalized into out. */
static int
rp_domain(struct rp_text *d, struct revpath *out, char *err, size_t errlen)
{
	char msg[REVPATH_ERR_MAX];
	const char *last;
	int rc;

	if (memchr(d->s, '@', d->len) != NULL)
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "the address has more than one '@'");
	if (d->len > 0 && d->s[0] == '[')
		return rp_literal(d, out, err, errlen);
	rc = rp_domain_syntax(d, "the domain", err, errlen);
	if (rc != REVPATH_OK)
		return rc;
	if (domain_normalize(d->s, d->len, out->domain, sizeof(out->domain),
	                     msg, sizeof(msg)) != 0) {
		out->domain[0] = '\0';
		/* ASCII limits were checked above: this is an IDN problem */
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "the domain: %s", msg);
	}
	/* IDNA mapping may drop characters: "2<U+034F>" becomes "2" */
	last = strrchr(out->domain, '.');
	last = last != NULL ? last + 1 : out->domain;
	if (rp_all_digits(last, strlen(last))) {
		out->domain[0] = '\0';
		return rp_numeric_fail(err, errlen, "the domain");
	}
	return REVPATH_OK;
}

/* rp_trim - drop spaces (0x20 only) around the argument. */
static void
rp_trim(struct rp_text *in)
{
	while (in->len > 0 && in->s[0] == ' ')
		in->s++, in->len--;
	while (in->len > 0 && in->s[in->len - 1] == ' ')
		in->len--;
}

/* rp_mailbox - [A-d-l ":"] Mailbox, the inside of the brackets. */
static int
rp_mailbox(struct rp_text *in, struct revpath *out, char *err, size_t errlen)
{
	size_t used = 0;
	int rc;

	if (in->s[0] == '@') {
		rc = rp_route(in, &used, &out->routes, err, errlen);
		if (rc != REVPATH_OK)
			return rc;
		in->s += used;
		in->len -= used;
	}
	rc = rp_local(in, out, err, errlen);
	if (rc != REVPATH_OK)
		return rc;
	if (in->len == 0)
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "the domain is empty");
	return rp_domain(in, out, err, errlen);
}

int
revpath_parse(const char *buf, size_t len, struct revpath *out, char *err,
              size_t errlen)
{
	struct rp_text in = {buf, len};
	size_t wire;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL)
		return errbuf_code(err, errlen, REVPATH_SYNTAX,
		                   "no result buffer");
	memset(out, 0, sizeof(*out));
	if (buf == NULL)
		in.len = 0;
	rp_trim(&in);
	/* spaces around count; so do the brackets a bare path lacks */
	wire =
	    (buf != NULL ? len : 0) + ((in.len > 0 && in.s[0] == '<') ? 0 : 2);
	if (wire > REVPATH_INPUT_MAX)
		return errbuf_code(err, errlen, REVPATH_TOO_LONG,
		                   "the reverse-path is %zu octets; at most %d "
		                   "allowed",
		                   wire, REVPATH_INPUT_MAX);
	if ((rc = rp_scan_bytes(in.s, in.len, err, errlen)) != REVPATH_OK ||
	    (rc = rp_unwrap(&in, err, errlen)) != REVPATH_OK)
		return rc;
	out->long_path = wire > REVPATH_PATH_MAX;
	if (in.len == 0) {
		out->null = true;
		return REVPATH_NULL;
	}
	rc = rp_mailbox(&in, out, err, errlen);
	if (rc != REVPATH_OK && rc != REVPATH_LITERAL) {
		memset(out, 0, sizeof(*out));
		if (err != NULL && errlen > 0 && err[0] == '\0')
			errbuf_code(err, errlen, rc, "the address is invalid");
	}
	return rc;
}

const char *
revpath_code_name(int code)
{
	if (code < 0 || (size_t)code >= REVPATH_NCODES)
		return "unknown";
	return revpath_names[code];
}

int
revpath_code_lookup(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < REVPATH_NCODES; i++)
		if (strcmp(revpath_names[i], name) == 0)
			return (int)i;
	return -1;
}

const struct revpath_reply *
revpath_reply(int code)
{
	if (code < 0 || (size_t)code >= REVPATH_NCODES)
		code = REVPATH_SYNTAX;
	return &revpath_replies[code];
}
