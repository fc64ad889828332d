/*
 * fromhdr.c - the mailboxes of a From header field, as receivers read them.
 *
 * SYNOPSIS
 *	#include "fromhdr.h"
 *
 *	int fromhdr_parse(const char *buf, size_t len, struct fromhdr *out,
 *	    char *err, size_t errlen);
 *	const char *fromhdr_code_name(int code);
 * DESCRIPTION
 *	A lexer gives the tokens of RFC 5322 section 3.2 with CFWS removed:
 *	atoms (atext, and every octet above 0x7f, as RFC 6532 allows),
 *	quoted strings, domain literals and the specials < > @ , : ; and
 *	".".  Comments nest (at most FROMHDR_COMMENT_DEPTH deep) and hold
 *	quoted pairs; CR and LF count as white space, so a folded value
 *	reads as one line.  Encoded words (RFC 2047) are atoms or quoted
 *	text and stay display text: they are never decoded into an address.
 *
 *	Each address is read twice: a first pass finds what ends its
 *	leading words ('<' a name-addr, ':' a group, else an addr-spec),
 *	the second reads it as that.  So the domain is always the one after
 *	the last '@' of the addr-spec inside the angle brackets:
 *	"a@good.example" <x@evil.example> and x@evil.example (a@good.example)
 *	both give evil.example.
 *
 *	Accepted as receivers accept them (RFC 5322 section 4, obs-):
 *	empty list elements (", a@b.example,"), a '.' in a display name, an
 *	unquoted '@' in a display name before an angle-addr (name_at), CFWS
 *	around the dots of a local part or a domain, a route before the
 *	addr-spec (routes), a trailing dot on the domain, control octets in
 *	quoted strings and comments, groups (RFC 6854), whose mailboxes
 *	count.  Refused: a NUL octet, a control octet elsewhere, an
 *	unclosed quoted string, comment, literal, angle-addr or group, a
 *	group inside a group, a second '@', an empty local part or domain,
 *	anything after an address but ',' (or ';' in a group), and a domain
 *	domain_normalize() refuses.
 * DIAGNOSTICS
 *	err names the octet offset and what was found there.
 */
#include "fromhdr.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "errbuf.h"
#include "text.h"

/* The domain as written, before normalization (U-labels are longer). */
#define FROMHDR_RAW_DOMAIN 1024

enum fh_tok {
	FH_END = 0,
	FH_ATOM,
	FH_QSTRING,
	FH_LITERAL,
	FH_LT,
	FH_GT,
	FH_AT,
	FH_COMMA,
	FH_COLON,
	FH_SEMI,
	FH_DOT,
	FH_ERROR,
};

/* The name of each token for messages. */
static const char *const fh_tok_names[] = {
    [FH_END] = "the end",
    [FH_ATOM] = "a word",
    [FH_QSTRING] = "a quoted string",
    [FH_LITERAL] = "a domain literal",
    [FH_LT] = "'<'",
    [FH_GT] = "'>'",
    [FH_AT] = "'@'",
    [FH_COMMA] = "','",
    [FH_COLON] = "':'",
    [FH_SEMI] = "';'",
    [FH_DOT] = "'.'",
    [FH_ERROR] = "an error",
};

/* The single-octet specials. */
static const struct {
	char c;
	enum fh_tok tok;
} fh_specials[] = {
    {'<', FH_LT},    {'>', FH_GT},   {'@', FH_AT},  {',', FH_COMMA},
    {':', FH_COLON}, {';', FH_SEMI}, {'.', FH_DOT},
};

struct fh_lex {
	const unsigned char *s;
	size_t len, pos;
	char *err;
	size_t errlen;
	int code; /* set with FH_ERROR */
};

struct fh_token {
	enum fh_tok t;
	size_t start, len; /* raw octets, quotes and brackets kept */
};

static const char *const fromhdr_code_names[] = {
    [FROMHDR_OK] = "ok",
    [FROMHDR_EMPTY] = "empty",
    [FROMHDR_SYNTAX] = "syntax",
    [FROMHDR_TOO_LONG] = "too_long",
};

const char *
fromhdr_code_name(int code)
{
	if (code < 0 || (size_t)code >= sizeof(fromhdr_code_names) /
	                                    sizeof(fromhdr_code_names[0]))
		return "invalid";
	return fromhdr_code_names[code];
}

/* fh_fail - a syntax error at octet at; returns FH_ERROR. */
static enum fh_tok
fh_fail(struct fh_lex *lx, size_t at, const char *what)
{
	errbuf_fail(lx->err, lx->errlen, "%s at octet %zu", what, at);
	lx->code = FROMHDR_SYNTAX;
	return FH_ERROR;
}

/* fh_atext - an atom octet: RFC 5322 atext, or 8-bit (RFC 6532). */
static bool
fh_atext(unsigned char c)
{
	if (c >= 0x80 || text_is_alpha(c) || text_is_digit(c))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* fh_ctl - a control octet other than NUL, HTAB, CR and LF (obs-NO-WS-
 * CTL and DEL): allowed in quoted strings and comments only. */
static bool
fh_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\0' && c != '\t' && c != '\r' && c != '\n') ||
	       c == 0x7f;
}

/* fh_skip_comment - past one comment starting at lx->pos ('('); false
 * with FH_ERROR set up when it is unclosed, too deep or holds a NUL. */
static bool
fh_skip_comment(struct fh_lex *lx)
{
	size_t start = lx->pos;
	unsigned depth = 0;

	while (lx->pos < lx->len) {
		unsigned char c = lx->s[lx->pos];

		if (c == '\0') {
			fh_fail(lx, lx->pos, "a NUL octet in a comment");
			return false;
		}
		if (c == '\\') {
			if (lx->pos + 1 < lx->len && lx->s[lx->pos + 1] == 0) {
				fh_fail(lx, lx->pos + 1,
				        "a NUL octet in a comment");
				return false;
			}
			lx->pos += 2;
			continue;
		}
		lx->pos++;
		if (c == '(' && ++depth > FROMHDR_COMMENT_DEPTH) {
			fh_fail(lx, lx->pos - 1,
			        "comments nested more than 32 deep");
			return false;
		}
		if (c == ')' && --depth == 0)
			return true;
	}
	fh_fail(lx, start, "a comment not closed by ')'");
	return false;
}

/* fh_skip_cfws - past white space, line breaks and comments. */
static bool
fh_skip_cfws(struct fh_lex *lx)
{
	while (lx->pos < lx->len) {
		unsigned char c = lx->s[lx->pos];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			lx->pos++;
		else if (c == '(') {
			if (!fh_skip_comment(lx))
				return false;
		} else
			break;
	}
	return true;
}

/* fh_delimited - a quoted string or a domain literal from lx->pos to
 * its closing octet; quoted pairs allowed, NUL refused. */
static enum fh_tok
fh_delimited(struct fh_lex *lx, struct fh_token *tk, char close, enum fh_tok t,
             const char *what)
{
	char msg[80];

	lx->pos++;
	while (lx->pos < lx->len) {
		unsigned char c = lx->s[lx->pos];

		if (c == '\0' || (c == '\\' && lx->pos + 1 < lx->len &&
		                  lx->s[lx->pos + 1] == '\0')) {
			snprintf(msg, sizeof(msg), "a NUL octet in %s", what);
			return fh_fail(lx, lx->pos + (c != '\0'), msg);
		}
		if (t == FH_LITERAL && (c == '[' || c == '\\'))
			return fh_fail(lx, lx->pos,
			               "a '[' or '\\' inside a domain literal");
		if (c == '\\') {
			lx->pos += 2;
			continue;
		}
		lx->pos++;
		if (c == (unsigned char)close) {
			if (lx->pos > lx->len)
				break;
			tk->len = lx->pos - tk->start;
			return tk->t = t;
		}
	}
	snprintf(msg, sizeof(msg), "%s not closed by '%c'", what, close);
	return fh_fail(lx, tk->start, msg);
}

/* fh_next - the next token after CFWS. */
static enum fh_tok
fh_next(struct fh_lex *lx, struct fh_token *tk)
{
	unsigned char c;
	char msg[64];

	tk->t = FH_END;
	tk->len = 0;
	if (!fh_skip_cfws(lx))
		return tk->t = FH_ERROR;
	tk->start = lx->pos;
	if (lx->pos >= lx->len)
		return FH_END;
	c = lx->s[lx->pos];
	if (c == '"')
		return tk->t = fh_delimited(lx, tk, '"', FH_QSTRING,
		                            "a quoted string");
	if (c == '[')
		return tk->t = fh_delimited(lx, tk, ']', FH_LITERAL,
		                            "a domain literal");
	for (size_t i = 0; i < sizeof(fh_specials) / sizeof(fh_specials[0]);
	     i++)
		if (fh_specials[i].c == (char)c) {
			lx->pos++;
			tk->len = 1;
			return tk->t = fh_specials[i].tok;
		}
	if (fh_atext(c)) {
		while (lx->pos < lx->len && fh_atext(lx->s[lx->pos]))
			lx->pos++;
		tk->len = lx->pos - tk->start;
		return tk->t = FH_ATOM;
	}
	if (c == '\0')
		return tk->t = fh_fail(lx, lx->pos, "a NUL octet");
	if (fh_ctl(c))
		snprintf(msg, sizeof(msg), "a control octet \\x%02x", c);
	else
		snprintf(msg, sizeof(msg), "an unexpected '%c'", c);
	return tk->t = fh_fail(lx, lx->pos, msg);
}

/* fh_peek - the next token without consuming it. */
static enum fh_tok
fh_peek(struct fh_lex *lx, struct fh_token *tk)
{
	size_t pos = lx->pos;
	enum fh_tok t = fh_next(lx, tk);

	if (t != FH_ERROR)
		lx->pos = pos;
	return t;
}

/* fh_unexpected - a syntax error naming the token found. */
static int
fh_unexpected(struct fh_lex *lx, const struct fh_token *tk, const char *want)
{
	char msg[128];

	if (tk->t == FH_ERROR)
		return lx->code;
	snprintf(msg, sizeof(msg), "%s where %s was expected",
	         fh_tok_names[tk->t], want);
	fh_fail(lx, tk->start, msg);
	return lx->code;
}

/* fh_domain - a domain after '@': a literal, or atoms joined by dots (an
 * optional trailing one), normalized into box.  stop is the token that
 * ends it ('>' , ',' or ':' in a route, or the end of the address). */
static int
fh_domain(struct fh_lex *lx, struct fromhdr_box *box)
{
	char raw[FROMHDR_RAW_DOMAIN], msg[FROMHDR_ERR_MAX];
	struct fh_token tk;
	size_t n = 0, at = lx->pos;

	if (fh_next(lx, &tk) == FH_LITERAL) {
		if (tk.len >= sizeof(box->domain)) {
			errbuf_fail(
			    lx->err, lx->errlen,
			    "a domain literal of %zu octets at octet %zu",
			    tk.len, tk.start);
			return lx->code = FROMHDR_TOO_LONG;
		}
		memcpy(box->domain, lx->s + tk.start, tk.len);
		box->domain[tk.len] = '\0';
		box->literal = true;
		return FROMHDR_OK;
	}
	for (;;) {
		if (tk.t != FH_ATOM)
			return fh_unexpected(lx, &tk, "a domain label");
		if (n + tk.len + 1 >= sizeof(raw)) {
			errbuf_fail(lx->err, lx->errlen,
			            "a domain over %d octets at octet %zu",
			            FROMHDR_RAW_DOMAIN, at);
			return lx->code = FROMHDR_TOO_LONG;
		}
		memcpy(raw + n, lx->s + tk.start, tk.len);
		n += tk.len;
		if (fh_peek(lx, &tk) != FH_DOT)
			break;
		fh_next(lx, &tk);
		raw[n++] = '.';
		if (fh_peek(lx, &tk) != FH_ATOM)
			break; /* a trailing dot */
		fh_next(lx, &tk);
	}
	if (tk.t == FH_ERROR)
		return lx->code;
	if (domain_normalize(raw, n, box->domain, sizeof(box->domain), msg,
	                     sizeof(msg)) != 0) {
		box->domain[0] = '\0';
		errbuf_fail(lx->err, lx->errlen, "the domain at octet %zu: %s",
		            at, msg);
		return lx->code = n > DOMAIN_MAX + 1 ? FROMHDR_TOO_LONG
		                                     : FROMHDR_SYNTAX;
	}
	box->literal = false;
	return FROMHDR_OK;
}

/* fh_local - words joined by dots up to '@' (a dot more or less is let
 * through: receivers do), the local part kept (cut) in out when keep. */
static int
fh_local(struct fh_lex *lx, struct fromhdr *out, bool keep)
{
	struct fh_token tk;
	size_t used = 0;
	bool any = false, word = false;

	if (keep)
		out->local[0] = '\0';
	for (;;) {
		fh_next(lx, &tk);
		if (tk.t == FH_AT)
			break;
		if (tk.t != FH_ATOM && tk.t != FH_QSTRING && tk.t != FH_DOT)
			return fh_unexpected(lx, &tk, "a local part or '@'");
		if (word && tk.t != FH_DOT) {
			fh_fail(lx, tk.start,
			        "two words without a '.' in a local part");
			return lx->code;
		}
		word = tk.t != FH_DOT;
		any = any || word;
		if (keep && !out->local_cut) {
			if (used + tk.len < sizeof(out->local)) {
				memcpy(out->local + used, lx->s + tk.start,
				       tk.len);
				used += tk.len;
				out->local[used] = '\0';
			} else
				out->local_cut = true;
		}
	}
	if (!any) {
		fh_fail(lx, tk.start, "an empty local part before '@'");
		return lx->code;
	}
	return FROMHDR_OK;
}

/* fh_mailbox_found - count one mailbox; keep its domain. */
static void
fh_mailbox_found(struct fromhdr *out, const struct fromhdr_box *box)
{
	if (out->kept < FROMHDR_KEEP)
		out->box[out->kept++] = *box;
	out->count++;
}

/* fh_addr_spec - local-part "@" domain. */
static int
fh_addr_spec(struct fh_lex *lx, struct fromhdr *out)
{
	struct fromhdr_box box;
	int rc;

	if ((rc = fh_local(lx, out, out->count == 0)) != FROMHDR_OK)
		return rc;
	if ((rc = fh_domain(lx, &box)) != FROMHDR_OK)
		return rc;
	fh_mailbox_found(out, &box);
	return FROMHDR_OK;
}

/* fh_route - obs-route: "@" domain *("," ["@" domain]) ":" (the
 * domains are checked, then forgotten). */
static int
fh_route(struct fh_lex *lx, struct fromhdr *out)
{
	struct fromhdr_box hop;
	struct fh_token tk;
	int rc;

	for (;;) {
		fh_next(lx, &tk);
		if (tk.t == FH_COLON)
			return FROMHDR_OK;
		if (tk.t == FH_COMMA)
			continue;
		if (tk.t != FH_AT)
			return fh_unexpected(lx, &tk, "'@', ',' or ':'");
		if ((rc = fh_domain(lx, &hop)) != FROMHDR_OK)
			return rc;
		out->routes++;
	}
}

/* fh_angle - after '<': [obs-route] addr-spec ">". */
static int
fh_angle(struct fh_lex *lx, struct fromhdr *out)
{
	struct fh_token tk;
	int rc;

	if (fh_peek(lx, &tk) == FH_AT && (rc = fh_route(lx, out)) != 0)
		return rc;
	if (tk.t == FH_GT) {
		fh_fail(lx, tk.start, "an empty '<>'");
		return lx->code;
	}
	if ((rc = fh_addr_spec(lx, out)) != FROMHDR_OK)
		return rc;
	if (fh_next(lx, &tk) != FH_GT)
		return fh_unexpected(lx, &tk, "'>'");
	return FROMHDR_OK;
}

/* fh_classify - what ends the words of the address at lx->pos: FH_LT,
 * FH_COLON, or the token after an addr-spec (FH_END, FH_COMMA,
 * FH_SEMI); *words says whether any word came first.  Consumes nothing. */
static enum fh_tok
fh_classify(struct fh_lex *lx, bool *words)
{
	size_t pos = lx->pos;
	struct fh_token tk;

	*words = false;
	for (;;) {
		switch (fh_next(lx, &tk)) {
		case FH_ATOM:
		case FH_QSTRING:
		case FH_LITERAL:
		case FH_DOT:
		case FH_AT:
			*words = true;
			continue;
		case FH_GT:
			fh_fail(lx, tk.start, "a '>' without a '<'");
			return FH_ERROR;
		default:
			break;
		}
		break;
	}
	if (tk.t != FH_ERROR)
		lx->pos = pos;
	return tk.t;
}

/* fh_phrase - display-name words before '<' or ':'; an unquoted '@'
 * is let through before '<' (name_at), refused before ':'. */
static int
fh_phrase(struct fh_lex *lx, struct fromhdr *out, enum fh_tok end)
{
	struct fh_token tk;

	for (;;) {
		fh_next(lx, &tk);
		if (tk.t == end)
			return FROMHDR_OK;
		if (tk.t == FH_ATOM || tk.t == FH_QSTRING || tk.t == FH_DOT)
			continue;
		if (tk.t == FH_AT && end == FH_LT) {
			out->name_at = true;
			continue;
		}
		return fh_unexpected(lx, &tk,
		                     end == FH_LT ? "a display name or '<'"
		                                  : "a group name or ':'");
	}
}

/* fh_mailbox - one mailbox (name-addr or addr-spec), or nothing, up to
 * the token that ends it, which is left unread.  in_group: ';' may end
 * it, ':' may not. */
static int
fh_mailbox(struct fh_lex *lx, struct fromhdr *out, bool in_group, bool *group)
{
	struct fh_token tk;
	bool words;
	int rc;

	*group = false;
	switch (fh_classify(lx, &words)) {
	case FH_ERROR:
		return lx->code;
	case FH_LT:
		if ((rc = fh_phrase(lx, out, FH_LT)) != FROMHDR_OK ||
		    (rc = fh_angle(lx, out)) != FROMHDR_OK)
			return rc;
		break;
	case FH_COLON:
		if (in_group) {
			fh_peek(lx, &tk);
			fh_fail(lx, tk.start, "a group inside a group");
			return lx->code;
		}
		*group = true;
		return fh_phrase(lx, out, FH_COLON);
	default:
		if (words && (rc = fh_addr_spec(lx, out)) != FROMHDR_OK)
			return rc;
		break;
	}
	fh_peek(lx, &tk);
	if (tk.t == FH_END || tk.t == FH_COMMA || (in_group && tk.t == FH_SEMI))
		return FROMHDR_OK;
	return fh_unexpected(lx, &tk, in_group ? "',' or ';'" : "','");
}

/* fh_group - the mailbox-list of a group up to its ';' and the CFWS
 * after it. */
static int
fh_group(struct fh_lex *lx, struct fromhdr *out)
{
	struct fh_token tk;
	bool nested;
	int rc;

	out->groups++;
	for (;;) {
		if ((rc = fh_mailbox(lx, out, true, &nested)) != FROMHDR_OK)
			return rc;
		fh_next(lx, &tk);
		if (tk.t == FH_SEMI)
			return FROMHDR_OK;
		if (tk.t == FH_END) {
			fh_fail(lx, tk.start, "a group not closed by ';'");
			return lx->code;
		}
	}
}

/* fh_reset - out without mailboxes. */
static void
fh_reset(struct fromhdr *out)
{
	memset(out, 0, sizeof(*out));
}

int
fromhdr_parse(const char *buf, size_t len, struct fromhdr *out, char *err,
              size_t errlen)
{
	struct fh_lex lx = {
	    (const unsigned char *)buf, len, 0, err, errlen, FROMHDR_SYNTAX};
	struct fh_token tk;
	bool group;
	int rc;

	fh_reset(out);
	if (errlen > 0)
		err[0] = '\0';
	if (buf == NULL)
		lx.len = 0;
	if (lx.len > FROMHDR_INPUT_MAX)
		return errbuf_code(err, errlen, FROMHDR_TOO_LONG,
		                   "the From value is %zu octets; at most %d "
		                   "are read",
		                   len, FROMHDR_INPUT_MAX);
	for (;;) {
		rc = fh_mailbox(&lx, out, false, &group);
		if (rc == FROMHDR_OK && group)
			rc = fh_group(&lx, out);
		if (rc != FROMHDR_OK) {
			fh_reset(out);
			return rc;
		}
		fh_next(&lx, &tk);
		if (tk.t == FH_END)
			break;
		if (tk.t != FH_COMMA) {
			rc = fh_unexpected(&lx, &tk, "','");
			fh_reset(out);
			return rc;
		}
	}
	if (out->count == 0) {
		fh_reset(out);
		return errbuf_code(err, errlen, FROMHDR_EMPTY,
		                   "the From value holds no mailbox");
	}
	return FROMHDR_OK;
}
